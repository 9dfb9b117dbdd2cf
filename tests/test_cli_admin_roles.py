"""`assure admin grant-role` and `revoke-role`: the operator changes an account's roles, each
change is audited as the command line, and the platform never loses its last administrator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import load_settings
from posture.audit import Actor
from posture.identity.accounts import create_admin
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.migrate import upgrade
from posture.storage.models import AuditEvent, Membership, Organisation, User
from posture.storage.models.enums import OrgKind
from tests.cli import assure

ADA, SAM = "ada@assure.police.uk", "sam@acme.example"
Platform = tuple[dict[str, str], sessionmaker[Session]]


@pytest.fixture
def platform(sqlite_env: dict[str, str]) -> Iterator[Platform]:
    """One platform administrator (Ada), and Sam, an account with no role, beside Acme Ltd."""
    engine = build_engine(load_settings(sqlite_env))
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        create_admin(session, Actor("setup"), ADA, "Ada", "a long and unusual passphrase")
        session.add(Organisation(slug="acme", name="Acme Ltd", kind=OrgKind.SUPPLIER))
        session.add(User(email=SAM, display_name="Sam"))
    yield sqlite_env, sessions
    engine.dispose()


def _roles(sessions: sessionmaker[Session], email: str) -> set[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Organisation.slug, Membership.role)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
        return {(slug, str(role)) for slug, role in rows}


def _role_events(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("role.%")).order_by(AuditEvent.id)
        )
        return [(e.action, e.shown_actor, e.data["role"]) for e in events]


def _role_change(change: str, email: str, organisation: str, role: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    return assure(
        "admin", change, "--email", email, "--organisation", organisation, "--role", role, env=env
    )


def test_the_operator_grants_and_revokes_a_role_and_both_are_audited(platform: Platform) -> None:
    env, sessions = platform
    granted = _role_change("grant-role", SAM, "acme", "supplier_admin", env)
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == f"granted supplier_admin in acme to {SAM}"
    again = _role_change("grant-role", SAM, "acme", "supplier_admin", env)
    assert again.returncode == 0, again.stderr
    assert "already holds supplier_admin in acme" in again.stdout
    assert _roles(sessions, SAM) == {("acme", "supplier_admin")}
    revoked = _role_change("revoke-role", SAM, "acme", "supplier_admin", env)
    assert revoked.returncode == 0, revoked.stderr
    assert _roles(sessions, SAM) == set()
    assert _role_events(sessions) == [
        ("role.granted", "cli", "supplier_admin"),
        ("role.revoked", "cli", "supplier_admin"),
    ]


@pytest.mark.parametrize(
    ("email", "organisation", "message"),
    [
        (SAM, "acme", "does not hold supplier_member"),
        ("nobody@acme.example", "acme", "no account for nobody@acme.example"),
        (SAM, "nowhere", "no organisation with the slug 'nowhere'"),
    ],
    ids=["role not held", "unknown account", "unknown organisation"],
)
def test_a_refused_revocation_is_one_line_and_exit_2(
    platform: Platform, email: str, organisation: str, message: str
) -> None:
    env, sessions = platform
    result = _role_change("revoke-role", email, organisation, "supplier_member", env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert message in result.stderr
    assert _role_events(sessions) == []


def test_the_last_active_platform_admin_keeps_the_role_until_there_is_another(
    platform: Platform,
) -> None:
    env, sessions = platform
    refused = _role_change("revoke-role", ADA, "platform", "platform_admin", env)
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0
    assert "last platform administrator" in refused.stderr
    assert _roles(sessions, ADA) == {("platform", "platform_admin")}
    assert _role_change("grant-role", SAM, "platform", "platform_admin", env).returncode == 0
    stepped_down = _role_change("revoke-role", ADA, "platform", "platform_admin", env)
    assert stepped_down.returncode == 0, stepped_down.stderr
    assert _roles(sessions, ADA) == set()
    assert _roles(sessions, SAM) == {("platform", "platform_admin")}
