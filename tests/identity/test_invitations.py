"""Invitations: a one-time code, stored only as its hash, good once until it expires or is
revoked; an organisation administrator invites only into their own organisation's supplier
roles; twenty redemptions at once make exactly one account, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.accounts import principal_for
from posture.identity.invitations import (
    NOT_VALID,
    accept_invitation,
    invite,
    join_with_invitation,
    list_invitations,
    prepare_acceptance,
    revoke_invitation,
)
from posture.identity.permissions import NotFound, PermissionDenied
from posture.identity.signin import sign_in_with_password
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, AuditPersonal, Invitation, Membership, User
from posture.storage.models.enums import Role
from tests.concurrency import in_parallel
from tests.identity.world import World, build_world

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
PASSWORD = "a long and unusual passphrase"
JUDGE = "new.judge@college.police.example"


def _invite(sessions, by, email=JUDGE, org=None, role=Role.CHALLENGE_JUDGE, **kw):  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return invite(session, by, email, org, role, now=kw.pop("now", NOW), **kw)


def _accept(
    sessions, code: str, name: str = "Nia Judge", password: str = PASSWORD, now=NOW
) -> User:  # type: ignore[no-untyped-def]
    with sessions() as session:
        prepared = prepare_acceptance(session, code, name, password, now)
    with transaction(sessions) as session:
        return accept_invitation(session, prepared, now)


def _events(sessions, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_invitee_makes_their_account_with_the_invited_role_and_signs_in(world_db) -> None:
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    n1 = world.orgs["n1"].organisation_id
    issued = _invite(sessions, admin, "  New.Judge@College.Police.Example ", n1)
    assert issued.email == JUDGE
    assert issued.expires_at == NOW + timedelta(days=7)
    with sessions() as session:
        row = session.get_one(Invitation, issued.invitation_id)
        # Only the hash is kept: the code is nowhere in the invitation or the audit trail.
        assert row.code_sha256 == hashlib.sha256(issued.code.encode()).hexdigest()
        stored = [*session.scalars(select(AuditEvent)), *session.scalars(select(AuditPersonal))]
        assert not any(issued.code in repr(vars(item)) for item in stored)

    user = _accept(sessions, issued.code)
    with sessions() as session:
        principal = principal_for(session, session.get_one(User, user.id))
        row = session.get_one(Invitation, issued.invitation_id)
        assert (row.accepted_user_id, row.email) == (user.id, None)  # the account holds it now
    assert principal.email == JUDGE
    assert principal.memberships[0].role == Role.CHALLENGE_JUDGE
    assert principal.memberships[0].organisation_id == n1
    verified = sign_in_with_password(sessions, JUDGE, PASSWORD, now=NOW + timedelta(minutes=1))
    assert verified.next_step == "done"
    (created,) = _events(sessions, "invitation.created")
    assert created.shown_data["email"] == JUDGE
    assert "email" not in created.data  # personal: kept apart from the hashed fields
    assert created.data["role"] == "challenge_judge"
    (accepted,) = _events(sessions, "invitation.accepted")
    assert (accepted.actor_user_id, accepted.data["user_id"]) == (user.id, user.id)
    with sessions() as session:
        (listed,) = list_invitations(session, admin, NOW)
    assert (listed.status, listed.email, listed.role) == ("accepted", JUDGE, Role.CHALLENGE_JUDGE)


def test_a_code_is_good_once(world_db) -> None:
    world, sessions, _ = world_db
    issued = _invite(
        sessions, world.principal(Role.PLATFORM_ADMIN), org=world.orgs["f1"].organisation_id
    )
    _accept(sessions, issued.code)
    with pytest.raises(ValidationFailed, match="not valid"):
        _accept(sessions, issued.code, "Someone Else", "another long passphrase here")


def test_an_expired_or_revoked_code_is_refused_and_revoking_is_audited(world_db) -> None:
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    n1 = world.orgs["n1"].organisation_id
    expiring = _invite(sessions, admin, org=n1, days=1)
    with pytest.raises(ValidationFailed, match="not valid"):
        _accept(sessions, expiring.code, now=NOW + timedelta(days=1, seconds=1))
    # Checked when prepared, checked again when redeemed: it expired in between.
    with sessions() as session:
        prepared = prepare_acceptance(session, expiring.code, "Nia", PASSWORD, NOW)
    with pytest.raises(ValidationFailed, match="not valid"), transaction(sessions) as session:
        accept_invitation(session, prepared, NOW + timedelta(days=2))

    revoked = _invite(sessions, admin, "other@college.police.example", n1)
    with transaction(sessions) as session:
        revoke_invitation(session, admin, revoked.invitation_id, NOW)
    with pytest.raises(ValidationFailed, match="not valid"):
        _accept(sessions, revoked.code)
    with (
        pytest.raises(ValidationFailed, match="accepted or revoked already"),
        transaction(sessions) as session,
    ):
        revoke_invitation(session, admin, revoked.invitation_id, NOW)
    (event,) = _events(sessions, "invitation.revoked")
    assert (event.object_id, event.actor_user_id) == (str(revoked.invitation_id), admin.user_id)
    with sessions() as session:
        statuses = {
            v.id: v.status for v in list_invitations(session, admin, NOW + timedelta(days=2))
        }
        assert not session.scalar(select(func.count()).select_from(User).where(User.email == JUDGE))
    assert statuses == {expiring.invitation_id: "expired", revoked.invitation_id: "revoked"}


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("Nia", "short", "at least 12"),
        ("Nia", "password1234", "common passwords"),
        ("Nia", "new.judge-is-my-password", "email name"),
        ("", PASSWORD, "display_name"),
    ],
)
def test_a_refused_password_or_name_spends_nothing(world_db, name, password, message) -> None:
    world, sessions, _ = world_db
    issued = _invite(
        sessions, world.principal(Role.PLATFORM_ADMIN), org=world.orgs["n1"].organisation_id
    )
    with pytest.raises(ValidationFailed, match=message):
        _accept(sessions, issued.code, name, password)
    _accept(sessions, issued.code)  # still good


@pytest.mark.parametrize("code", ["", "   ", "x" * 129, "not-a-code", "'; DROP TABLE users; --"])
def test_a_wrong_code_is_refused_in_the_same_words(world_db, code: str) -> None:
    _, sessions, _ = world_db
    with pytest.raises(ValidationFailed) as refused, sessions() as session:
        prepare_acceptance(session, code, "Nia", PASSWORD, NOW)
    assert str(refused.value) == NOT_VALID


def test_an_existing_address_joins_from_its_own_account_only(world_db) -> None:
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    member = world.principal(Role.SUPPLIER_MEMBER)
    n1 = world.orgs["n1"].organisation_id
    issued = _invite(sessions, admin, member.email, n1)
    with pytest.raises(ValidationFailed, match="exists already: sign in"):
        _accept(sessions, issued.code)
    someone_else = world.principal(Role.SUPPLIER_ADMIN)
    with pytest.raises(ValidationFailed, match="not valid"), transaction(sessions) as session:
        join_with_invitation(session, someone_else, issued.code, NOW)
    with transaction(sessions) as session:
        organisation, role = join_with_invitation(session, member, issued.code, NOW)
    assert (organisation, role) == ("Organisation n1", Role.CHALLENGE_JUDGE)
    with sessions() as session:
        roles = set(
            session.scalars(select(Membership.role).where(Membership.user_id == member.user_id))
        )
    assert roles == {Role.SUPPLIER_MEMBER, Role.CHALLENGE_JUDGE}
    with pytest.raises(ValidationFailed, match="not valid"), transaction(sessions) as session:
        join_with_invitation(session, member, issued.code, NOW)


def test_an_organisation_administrator_invites_only_into_their_own_supplier_roles(world_db) -> None:
    world, sessions, _ = world_db
    supplier_admin = world.principal(Role.SUPPLIER_ADMIN)
    s1, s2 = world.orgs["s1"].organisation_id, world.orgs["s2"].organisation_id
    own = _invite(sessions, supplier_admin, "dev@s1.example", s1, Role.SUPPLIER_MEMBER)
    before = _events(sessions, "invitation.created")
    with pytest.raises(NotFound):
        _invite(sessions, supplier_admin, "dev@s2.example", s2, Role.SUPPLIER_MEMBER)
    with pytest.raises(PermissionDenied, match="supplier roles"):
        _invite(sessions, supplier_admin, "judge@s1.example", s1, Role.CHALLENGE_JUDGE)
    with pytest.raises(PermissionDenied):
        _invite(
            sessions,
            world.principal(Role.SUPPLIER_MEMBER),
            "x@s1.example",
            s1,
            Role.SUPPLIER_MEMBER,
        )
    other = _invite(
        sessions, world.principal(Role.PLATFORM_ADMIN), "dev@s2.example", s2, Role.SUPPLIER_MEMBER
    )
    with sessions() as session:
        assert [v.id for v in list_invitations(session, supplier_admin, NOW)] == [own.invitation_id]
    with pytest.raises(NotFound), transaction(sessions) as session:
        revoke_invitation(session, supplier_admin, other.invitation_id, NOW)
    assert len(_events(sessions, "invitation.created")) == len(before) + 1  # the admin's only


@pytest.mark.parametrize(
    ("email", "org", "role", "message"),
    [
        ("not-an-address", "n1", Role.CHALLENGE_JUDGE, "email"),
        (JUDGE, "s1", Role.CHALLENGE_JUDGE, "belongs in a force or national body"),
        (JUDGE, "n1", Role.PLATFORM_ADMIN, "belongs in a platform"),
        (JUDGE, "platform", Role.SUPPLIER_ADMIN, "belongs in a supplier"),
        (JUDGE, "n1", "overlord", "unknown role"),
    ],
)
def test_bad_invitations_are_refused_and_write_nothing(world_db, email, org, role, message) -> None:
    world, sessions, _ = world_db
    with pytest.raises(ValidationFailed, match=message):
        _invite(
            sessions,
            world.principal(Role.PLATFORM_ADMIN),
            email,
            world.orgs[org].organisation_id,
            role,
        )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_a_second_open_invitation_for_the_same_place_is_refused(world_db) -> None:
    world, sessions, _ = world_db
    admin, n1 = world.principal(Role.PLATFORM_ADMIN), world.orgs["n1"].organisation_id
    _invite(sessions, admin, org=n1)
    with pytest.raises(ValidationFailed, match="open invitation"):
        _invite(sessions, admin, org=n1)
    _invite(sessions, admin, org=n1, role=Role.CHALLENGE_MANAGER)  # another role is another place


def test_the_operator_invites_from_the_command_line(world_db) -> None:
    world, sessions, _ = world_db
    issued = _invite(sessions, Actor("cli"), org=world.orgs["n1"].organisation_id)
    (event,) = _events(sessions, "invitation.created")
    assert (event.actor_label, event.actor_user_id) == ("cli", None)
    _accept(sessions, issued.code)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions) as session:
        return build_world(session)


def test_twenty_redemptions_at_once_make_exactly_one_account(
    world: World, sessions: sessionmaker[Session]
) -> None:
    issued = _invite(
        sessions, world.principal(Role.PLATFORM_ADMIN), org=world.orgs["n1"].organisation_id
    )
    prepared = []
    for n in range(20):  # the slow password hashes, before the race
        with sessions() as session:
            prepared.append(prepare_acceptance(session, issued.code, f"Racer {n}", PASSWORD, NOW))

    def redeem(one):  # type: ignore[no-untyped-def]
        return lambda session: accept_invitation(session, one, NOW).id

    results = in_parallel(sessions, [redeem(one) for one in prepared])
    won = [r for r in results if isinstance(r, int)]
    lost = [r for r in results if not isinstance(r, int)]
    assert len(won) == 1
    # Each loser finds the code spent, not merely the address taken: single use is the
    # invitation's own doing, not the users table's unique address.
    assert all(isinstance(r, ValidationFailed) and str(r) == NOT_VALID for r in lost), lost
    with sessions() as session:
        users = session.scalars(select(User).where(User.email == JUDGE)).all()
        members = session.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == won[0])
        )
        accepted = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "invitation.accepted")
        )
    assert [u.id for u in users] == won
    assert (members, accepted) == (1, 1)


def test_erasing_a_person_removes_the_invitations_open_to_their_address(world_db) -> None:
    from posture.erasure import erase_person

    world, sessions, settings = world_db
    admin, n1 = world.principal(Role.PLATFORM_ADMIN), world.orgs["n1"].organisation_id
    issued = _invite(sessions, admin, org=n1)
    kept = _invite(sessions, admin, "someone.else@college.police.example", n1)
    erase_person(sessions, Actor("cli"), JUDGE.upper(), "DPO-7", settings.data_dir)
    with sessions() as session:
        left = session.scalars(select(Invitation.id)).all()
    assert left == [kept.invitation_id]
    with pytest.raises(ValidationFailed, match="not valid"):
        _accept(sessions, issued.code)


def test_an_invitation_is_not_honoured_once_its_inviter_may_no_longer_give_the_role(
    world_db,
) -> None:
    world, sessions, _ = world_db
    supplier_admin = world.principal(Role.SUPPLIER_ADMIN)
    s1 = world.orgs["s1"].organisation_id
    issued = _invite(sessions, supplier_admin, "dev@s1.example", s1, Role.SUPPLIER_MEMBER)
    with transaction(sessions) as session:
        session.get_one(User, supplier_admin.user_id).is_active = False
    with pytest.raises(ValidationFailed) as refused:
        _accept(sessions, issued.code)
    assert str(refused.value) == NOT_VALID
    with sessions() as session:
        assert session.scalar(select(User.id).where(User.email == "dev@s1.example")) is None
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.accepted_at is None  # unspent: the refusal rolled the redemption back
    with transaction(sessions) as session:
        session.get_one(User, supplier_admin.user_id).is_active = True
    made = _accept(sessions, issued.code)
    assert made.email == "dev@s1.example"


def test_an_organisation_administrator_sees_a_colleagues_address_but_not_the_platforms(
    world_db,
) -> None:
    world, sessions, _ = world_db
    supplier_admin = world.principal(Role.SUPPLIER_ADMIN)
    platform_admin = world.principal(Role.PLATFORM_ADMIN)
    s1 = world.orgs["s1"].organisation_id
    own = _invite(sessions, supplier_admin, "dev@s1.example", s1, Role.SUPPLIER_MEMBER)
    theirs = _invite(sessions, platform_admin, "ops@s1.example", s1, Role.SUPPLIER_MEMBER)
    with sessions() as session:
        seen = {v.id: v.invited_by for v in list_invitations(session, supplier_admin, NOW)}
        everything = {v.id: v.invited_by for v in list_invitations(session, platform_admin, NOW)}
        platform_email = session.get_one(User, platform_admin.user_id).email
        supplier_email = session.get_one(User, supplier_admin.user_id).email
    assert seen == {
        own.invitation_id: supplier_email,
        theirs.invitation_id: "someone outside your organisation",
    }
    assert everything[theirs.invitation_id] == platform_email
    assert everything[own.invitation_id] == supplier_email
