"""`assure admin invite`: the operator invites an address into an organisation in a role; the
code is printed once and redeems on the sign-in page's path; refusals change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import load_settings
from posture.identity.invitations import accept_invitation, prepare_acceptance
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.migrate import upgrade
from posture.storage.models import AuditEvent, Invitation, Membership, Organisation
from posture.storage.models.enums import OrgKind, Role
from tests.cli import assure

JUDGE = "nia.judge@college.police.example"


@pytest.fixture
def estate(sqlite_env: dict[str, str]) -> Iterator[tuple[dict[str, str], sessionmaker[Session]]]:
    engine = build_engine(load_settings(sqlite_env))
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.add(Organisation(slug="college", name="College", kind=OrgKind.NATIONAL_BODY))
    yield sqlite_env, sessions
    engine.dispose()


def _invite(env: dict[str, str], *extra: str):  # type: ignore[no-untyped-def]
    return assure("admin", "invite", "--email", JUDGE, "--organisation", "college", *extra, env=env)


def test_the_operator_invites_a_judge_and_the_code_redeems_once(estate) -> None:  # type: ignore[no-untyped-def]
    env, sessions = estate
    done = _invite(env, "--role", "challenge_judge", "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (printed["email"], printed["organisation"], printed["role"]) == (
        JUDGE,
        "college",
        "challenge_judge",
    )
    with sessions() as session:
        prepared = prepare_acceptance(
            session, printed["code"], "Nia", "a long and unusual passphrase"
        )
    with transaction(sessions) as session:
        user_id = accept_invitation(session, prepared).id
    with sessions() as session:
        role = session.scalar(select(Membership.role).where(Membership.user_id == user_id))
        actors = session.scalars(
            select(AuditEvent.actor_label).where(AuditEvent.action == "invitation.created")
        ).all()
    assert (role, actors) == (Role.CHALLENGE_JUDGE, ["cli"])
    plain = _invite(env, "--role", "challenge_manager")
    assert plain.returncode == 0, plain.stderr
    assert len(plain.stdout.strip()) >= 32
    assert "shown only now" in plain.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "supplier_admin"), "belongs in a supplier"),
        (("--role", "overlord"), "overlord"),
        (("--role", "challenge_judge", "--days", "0"), "greater than or equal to 1"),
    ],
)
def test_a_refused_invitation_changes_nothing(estate, args, message: str) -> None:  # type: ignore[no-untyped-def]
    env, sessions = estate
    done = _invite(env, *args)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    with sessions() as session:
        assert session.scalars(select(Invitation)).all() == []
