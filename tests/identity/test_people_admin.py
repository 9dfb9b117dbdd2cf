"""Administering people: who is listed (an organisation administrator sees their own
organisation's people and only those memberships), disabling an account ends its sessions and
tokens at once, the last active platform administrator stays, and nobody reaches across
tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.accounts import create_admin, principal_for
from posture.identity.directory import create_organisation, list_organisations
from posture.identity.people import give_role, list_people, set_active, take_role
from posture.identity.permissions import Membership, NotFound, PermissionDenied, Principal
from posture.identity.roles import role_name, roles_held_in
from posture.identity.sessions import open_session, resume_session
from posture.identity.token_cache import current_epoch
from posture.identity.tokens import TokenRejected, issue_token, signing_key, verify_token
from posture.storage.engine import transaction
from posture.storage.models import (
    ApiToken,
    AuditEvent,
    MfaFactor,
    Organisation,
    PasskeyCredential,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import OrgKind, Role
from tests.concurrency import in_parallel
from tests.identity.world import World, build_world

PASSWORD = "a long and unusual passphrase"


def _actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _add_person(sessions, world: World, email: str, *orgs_and_roles: tuple[str, Role]) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        user = User(email=email, display_name=email.split("@")[0].title())
        session.add(user)
        session.flush()
        for org, role in orgs_and_roles:
            session.add(
                MembershipRow(
                    user_id=user.id, organisation_id=world.orgs[org].organisation_id, role=role
                )
            )
        return user.id


def test_the_platform_administrator_lists_everyone_with_roles_and_second_factors(world_db) -> None:
    world, sessions, _ = world_db
    judge = world.users[Role.CHALLENGE_JUDGE]
    with transaction(sessions) as session:
        session.add(MfaFactor(user_id=judge, kind="totp", secret_ciphertext="x"))
        for label in ("yubikey", "laptop"):
            session.add(
                PasskeyCredential(
                    user_id=world.users[Role.SIRO],
                    credential_id=label,
                    public_key=b"k",
                    label=label,
                )
            )
        session.get_one(User, world.users[Role.SUPPLIER_MEMBER]).is_active = False
    admin = world.principal(Role.PLATFORM_ADMIN)
    with sessions() as session:
        page = list_people(session, admin)
        found = list_people(session, admin, search="JUDGE")
        disabled = list_people(session, admin, status="disabled")
        paged = list_people(session, admin, limit=2, offset=2)
        n1 = list_people(session, admin, organisation_id=world.orgs["n1"].organisation_id)
    assert page.total == len(Role)
    assert [p.email for p in page.people] == sorted(p.email for p in page.people)
    by_email = {p.email: p for p in page.people}
    assert by_email["challenge_judge@example.police.uk"].second_factor == "authenticator app"
    assert by_email["siro@example.police.uk"].second_factor == "2 security keys"
    assert by_email["force_assessor@example.police.uk"].second_factor == "none"
    (held,) = by_email["challenge_judge@example.police.uk"].roles
    assert (held.organisation_name, role_name(held.role)) == ("Organisation n1", "Challenge judge")
    assert [p.email for p in found.people] == ["challenge_judge@example.police.uk"]
    assert [p.email for p in disabled.people] == ["supplier_member@example.police.uk"]
    assert (paged.total, [p.email for p in paged.people]) == (
        len(Role),
        [p.email for p in page.people[2:4]],
    )
    assert {p.email for p in n1.people} == {
        f"{r.value}@example.police.uk"
        for r in (
            Role.NATIONAL_ASSESSOR,
            Role.PROCUREMENT_OFFICER,
            Role.CHALLENGE_MANAGER,
            Role.CHALLENGE_JUDGE,
        )
    }


@pytest.mark.parametrize("search", ["%", "%%", "\\", "' OR 1=1 --"])
def test_search_wildcards_are_taken_literally(world_db, search: str) -> None:
    world, sessions, _ = world_db
    with sessions() as session:
        assert list_people(session, world.principal(Role.PLATFORM_ADMIN), search=search).total == 0


def test_a_supplier_administrator_sees_only_their_organisation_and_its_memberships(
    world_db,
) -> None:
    world, sessions, _ = world_db
    both = _add_person(
        sessions,
        world,
        "consultant@both.example",
        ("s1", Role.SUPPLIER_MEMBER),
        ("s2", Role.SUPPLIER_ADMIN),
    )
    _add_person(sessions, world, "dev@s2.example", ("s2", Role.SUPPLIER_MEMBER))
    me = world.principal(Role.SUPPLIER_ADMIN)
    with sessions() as session:
        page = list_people(session, me)
        with pytest.raises(NotFound):
            list_people(session, me, organisation_id=world.orgs["s2"].organisation_id)
        with pytest.raises(PermissionDenied):
            list_people(session, world.principal(Role.SUPPLIER_MEMBER))
        (own,) = list_organisations(session, me)
    assert {p.email for p in page.people} == {
        "supplier_admin@example.police.uk",
        "supplier_member@example.police.uk",
        "consultant@both.example",
    }
    consultant = next(p for p in page.people if p.user_id == both)
    assert [(r.organisation_name, r.role) for r in consultant.roles] == [
        ("Organisation s1", Role.SUPPLIER_MEMBER)
    ]
    assert (own.slug, own.kind, own.members) == ("s1", OrgKind.SUPPLIER, 3)


def test_disabling_an_account_ends_its_sessions_and_tokens_at_once(world_db) -> None:
    world, sessions, settings = world_db
    key = signing_key(settings)
    target = world.users[Role.SUPPLIER_MEMBER]
    admin = world.principal(Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:
        member = principal_for(session, session.get_one(User, target))
        session_token = open_session(session, member)
        api_token, _ = issue_token(
            session, None, key, session.get_one(User, target), ["products:read"]
        )
        epoch = current_epoch(session)
    with transaction(sessions) as session:
        assert set_active(session, admin, target, False) is True
    with transaction(sessions) as session:
        assert resume_session(session, session_token) is None
        assert current_epoch(session) > epoch
        assert session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == target)).one()
        with pytest.raises(TokenRejected):
            verify_token(session, key, api_token)
        assert set_active(session, admin, target, False) is False  # already so: nothing recorded
    assert _actions(sessions)[-2:] == ["auth.sessions_revoked", "user.disabled"]
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.disabled")
        ).one()
    assert event.data == {"sessions_ended": 1, "tokens_revoked": 1}
    assert event.actor_user_id == admin.user_id
    with transaction(sessions) as session:
        assert set_active(session, admin, target, True) is True
    with sessions() as session:
        assert session.get_one(User, target).is_active
        with pytest.raises(TokenRejected, match="revoked"):
            verify_token(session, key, api_token)  # re-enabling gives no old token back
    assert _actions(sessions)[-1] == "user.enabled"


def test_nobody_disables_their_own_account(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.PLATFORM_ADMIN)
    with (
        pytest.raises(ValidationFailed, match="your own account"),
        transaction(sessions) as session,
    ):
        set_active(session, me, me.user_id, False)


@pytest.fixture
def two_admins(sessions: sessionmaker[Session]) -> tuple[Principal, Principal]:
    with transaction(sessions) as session:
        build_world(session)
        ada = create_admin(session, Actor("setup"), "ada@assure.police.uk", "Ada", PASSWORD)
        bo = create_admin(session, Actor("setup"), "bo@assure.police.uk", "Bo", PASSWORD)
        old = session.scalars(
            select(User).where(User.email == "platform_admin@example.police.uk")
        ).one()
        old.is_active = False  # the world's own administrator has left
        return principal_for(session, ada), principal_for(session, bo)


def test_two_administrators_disabling_each_other_at_once_leave_one(
    sessions: sessionmaker[Session], two_admins: tuple[Principal, Principal]
) -> None:
    ada, bo = two_admins
    results = in_parallel(
        sessions,
        [
            lambda s: set_active(s, ada, bo.user_id, False),
            lambda s: set_active(s, bo, ada.user_id, False),
        ],
    )
    assert results.count(True) == 1
    (refused,) = [r for r in results if r is not True]
    # The second reads, under the administrators' lock, that it was itself disabled a moment ago.
    assert isinstance(refused, PermissionDenied)
    assert "your account has been disabled" in str(refused)
    with sessions() as session:
        active = session.scalars(
            select(User.email).where(
                User.email.in_([ada.email, bo.email]), User.is_active.is_(True)
            )
        ).all()
    assert len(active) == 1


def test_an_administrator_gives_and_takes_every_role_where_it_belongs(world_db) -> None:
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    person = _add_person(sessions, world, "new@example.police.uk", ("f1", Role.FORCE_ASSESSOR))
    kind_of = {
        "s1": OrgKind.SUPPLIER,
        "f1": OrgKind.FORCE,
        "n1": OrgKind.NATIONAL_BODY,
        "platform": OrgKind.PLATFORM,
    }
    for role in Role:
        org = next(slug for slug, kind in kind_of.items() if role in roles_held_in(kind))
        organisation_id = world.orgs[org].organisation_id
        with transaction(sessions) as session:
            assert give_role(session, admin, person, organisation_id, role) is (
                role != Role.FORCE_ASSESSOR
            )
        with transaction(sessions) as session:
            take_role(session, admin, person, organisation_id, role)
    with sessions() as session:
        assert not session.scalars(
            select(MembershipRow).where(MembershipRow.user_id == person)
        ).all()
    granted = [a for a in _actions(sessions) if a.startswith("role.")]
    assert granted.count("role.granted") == len(Role) - 1
    assert granted.count("role.revoked") == len(Role)
    with (
        pytest.raises(ValidationFailed, match="belongs in a force or national body"),
        transaction(sessions) as session,
    ):
        give_role(session, admin, person, world.orgs["s1"].organisation_id, Role.CHALLENGE_JUDGE)


def test_a_supplier_administrator_reaches_no_other_tenant(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    s1, s2 = world.orgs["s1"].organisation_id, world.orgs["s2"].organisation_id
    theirs = _add_person(sessions, world, "dev@s2.example", ("s2", Role.SUPPLIER_MEMBER))
    both = _add_person(
        sessions,
        world,
        "consultant@both.example",
        ("s1", Role.SUPPLIER_MEMBER),
        ("s2", Role.SUPPLIER_MEMBER),
    )
    before = _actions(sessions)
    attempts = [
        lambda s: set_active(s, me, theirs, False),
        lambda s: set_active(s, me, both, False),  # also another supplier's person
        lambda s: give_role(s, me, theirs, s2, Role.SUPPLIER_ADMIN),
        lambda s: give_role(s, me, theirs, s1, Role.SUPPLIER_ADMIN),  # pulling them in
        lambda s: take_role(s, me, both, s2, Role.SUPPLIER_MEMBER),
        lambda s: set_active(s, me, 999_999, False),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound), transaction(sessions) as session:
            attempt(session)
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        give_role(session, me, both, s1, Role.CHALLENGE_JUDGE)
    member = world.principal(Role.SUPPLIER_MEMBER)
    for attempt in (
        lambda s: set_active(s, member, world.users[Role.SUPPLIER_ADMIN], False),
        lambda s: give_role(s, member, both, s1, Role.SUPPLIER_ADMIN),
        lambda s: list_organisations(s, member),
        lambda s: create_organisation(s, me, "Shadow Ltd", "shadow", "supplier"),
    ):
        with pytest.raises(PermissionDenied), transaction(sessions) as session:
            attempt(session)
    assert _actions(sessions) == before
    # Within their own organisation it works.
    with transaction(sessions) as session:
        assert give_role(session, me, both, s1, Role.SUPPLIER_ADMIN)
        assert set_active(session, me, world.users[Role.SUPPLIER_MEMBER], False)


def test_the_platform_administrator_creates_an_organisation(world_db) -> None:
    world, sessions, _ = world_db
    admin = world.principal(Role.PLATFORM_ADMIN)
    with transaction(sessions) as session:
        made = create_organisation(session, admin, "  Kent Police ", "kent-police", "force")
    with sessions() as session:
        listed = {o.slug: o for o in list_organisations(session, admin)}
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "organisation.created")
        ).one()
    assert (
        listed["kent-police"].name,
        listed["kent-police"].kind,
        listed["kent-police"].members,
    ) == ("Kent Police", OrgKind.FORCE, 0)
    assert listed["n1"].members == 4
    assert (event.object_id, event.data["kind"], event.organisation_id) == (
        str(made.id),
        "force",
        made.id,
    )
    for name, slug, kind, message in [
        ("Kent Again", "kent-police", "force", "exists already"),
        ("Bad Slug", "Bad Slug!", "force", "lower-case letters"),
        ("Second platform", "platform-2", "platform", "one platform organisation"),
        ("Odd kind", "odd", "club", "kind"),
        ("", "empty-name", "force", "name"),
    ]:
        with pytest.raises(ValidationFailed, match=message), transaction(sessions) as session:
            create_organisation(session, admin, name, slug, kind)
    with sessions() as session:
        assert (
            session.scalars(select(Organisation.slug).where(Organisation.slug == "odd")).all() == []
        )


def test_a_principal_without_roles_is_refused_everything(world_db) -> None:
    world, sessions, _ = world_db
    nobody = Principal(
        999, "nobody@example", (Membership(world.orgs["s1"].organisation_id, Role.CHALLENGE_JUDGE),)
    )
    with sessions() as session, pytest.raises(PermissionDenied):
        list_people(session, nobody)


def test_a_supplier_administrator_cannot_leave_their_organisation_without_one(world_db) -> None:
    world, sessions, _ = world_db
    mine = world.principal(Role.SUPPLIER_ADMIN)
    s1 = world.orgs["s1"].organisation_id
    with (
        pytest.raises(ValidationFailed, match="last active administrator"),
        transaction(sessions) as session,
    ):
        take_role(session, mine, mine.user_id, s1, Role.SUPPLIER_ADMIN)
    member = world.users[Role.SUPPLIER_MEMBER]
    with transaction(sessions) as session:
        give_role(session, mine, member, s1, Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:  # another administrator now: stepping down is fine
        take_role(session, mine, mine.user_id, s1, Role.SUPPLIER_ADMIN)
    with sessions() as session:
        held = set(
            session.scalars(
                select(MembershipRow.role).where(
                    MembershipRow.user_id == mine.user_id, MembershipRow.organisation_id == s1
                )
            )
        )
    assert Role.SUPPLIER_ADMIN not in held


def test_an_account_the_platform_disabled_is_enabled_again_only_by_the_platform(world_db) -> None:
    world, sessions, _ = world_db
    target = world.users[Role.SUPPLIER_MEMBER]
    platform = world.principal(Role.PLATFORM_ADMIN)
    supplier_admin = world.principal(Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:
        assert set_active(session, platform, target, False) is True
    before = _actions(sessions)
    with (
        pytest.raises(PermissionDenied, match="only they can enable it again"),
        transaction(sessions) as session,
    ):
        set_active(session, supplier_admin, target, True)
    assert _actions(sessions) == before
    with sessions() as session:
        assert not session.get_one(User, target).is_active
    with transaction(sessions) as session:
        assert set_active(session, platform, target, True) is True
    # Disabled by its own organisation's administrator, it is theirs to enable again.
    with transaction(sessions) as session:
        assert set_active(session, supplier_admin, target, False) is True
    with transaction(sessions) as session:
        assert set_active(session, supplier_admin, target, True) is True
