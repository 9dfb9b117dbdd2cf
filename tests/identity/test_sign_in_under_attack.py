"""Sign-in as an attacker tries it: parallel guesses against one account, spraying from one
address, racing first-run setup, removing the last administrator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.accounts import create_admin, has_admin, principal_for, revoke_role
from posture.identity.policy import identity_policy
from posture.identity.setup import SetupCode, create_first_admin
from posture.identity.signin import SignInFailed, sign_in_with_password
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Membership, User
from posture.storage.models.enums import Role

EMAIL, PASSWORD = "ada@assure.police.uk", "a sensible long passphrase"
T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        create_admin(session, Actor("setup"), EMAIL, "Ada", PASSWORD)
    return sessions


def _attempt(sessions: sessionmaker[Session], password: str, address: str = "198.51.100.7"):
    try:
        return sign_in_with_password(sessions, EMAIL, password, address, now=T0)
    except SignInFailed:
        return None


def _actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_twenty_parallel_wrong_passwords_lock_the_account_for_the_right_one(
    admin: sessionmaker[Session],
) -> None:
    limit = identity_policy().max_failed_logins
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: _attempt(admin, f"wrong guess {i}"), range(20)))
    assert results == [None] * 20
    assert _attempt(admin, PASSWORD) is None
    actions = _actions(admin)
    # Only `limit` guesses were ever checked against the hash; the rest were refused unseen.
    assert actions.count("auth.login_failed") == limit
    assert actions.count("auth.login_refused") == 21 - limit
    with admin() as session:
        locked_until = session.scalar(select(User.locked_until).where(User.email == EMAIL))
    assert locked_until is not None
    assert locked_until > T0


def test_thirty_nine_parallel_guesses_then_the_right_password_is_still_refused(
    admin: sessionmaker[Session],
) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda i: _attempt(admin, f"guess {i}"), range(39)))
    assert _attempt(admin, PASSWORD) is None
    later = T0 + timedelta(minutes=identity_policy().lockout_minutes, seconds=1)
    verified = sign_in_with_password(admin, EMAIL, PASSWORD, "198.51.100.8", now=later)
    assert verified.email == EMAIL


def test_one_address_spraying_many_accounts_is_throttled_but_others_are_not(
    admin: sessionmaker[Session],
) -> None:
    throttle = identity_policy().address_throttle
    for i in range(throttle.max_failures):
        with pytest.raises(SignInFailed):
            sign_in_with_password(admin, f"user{i}@x.police.uk", "spray", "203.0.113.5", T0)
    # The sprayer's next attempt is refused even with a correct password...
    with pytest.raises(SignInFailed):
        sign_in_with_password(admin, EMAIL, PASSWORD, "203.0.113.5", T0)
    # ...without touching the account's own counter, so the real user is not locked out.
    assert sign_in_with_password(admin, EMAIL, PASSWORD, "203.0.113.99", T0).email == EMAIL
    after_window = T0 + timedelta(minutes=throttle.window_minutes, seconds=1)
    assert sign_in_with_password(admin, EMAIL, PASSWORD, "203.0.113.5", after_window)
    assert "auth.login_refused" in _actions(admin)


def test_parallel_spraying_from_one_address_cannot_exceed_its_allowance(
    admin: sessionmaker[Session],
) -> None:
    limit = identity_policy().address_throttle.max_failures

    def spray(i: int) -> None:
        with pytest.raises(SignInFailed):
            sign_in_with_password(admin, f"user{i}@x.police.uk", "spray", "203.0.113.6", T0)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(spray, range(limit + 20)))
    with admin() as session:
        refused = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.login_refused")
        )
    assert refused == 20


@pytest.mark.parametrize("racers", [4, 20])
def test_concurrent_first_run_setups_make_exactly_one_admin(
    sessions: sessionmaker[Session], racers: int
) -> None:
    code, shown = SetupCode.generate()

    def setup(i: int) -> str:
        try:
            with transaction(sessions) as session:
                create_first_admin(session, code, shown, f"admin{i}@x.police.uk", "A", PASSWORD)
            return "created"
        except ValidationFailed as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = list(pool.map(setup, range(racers)))
    assert outcomes.count("created") == 1
    assert all("already been created" in o for o in outcomes if o != "created")
    with sessions() as session:
        admins = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.role == Role.PLATFORM_ADMIN)
        )
    assert admins == 1


def test_setup_without_the_console_code_creates_nothing(sessions: sessionmaker[Session]) -> None:
    code, shown = SetupCode.generate()
    other, _ = SetupCode.generate()
    with (
        transaction(sessions) as session,
        pytest.raises(ValidationFailed, match="setup code is not right"),
    ):
        create_first_admin(session, other, shown, "eve@x.police.uk", "Eve", PASSWORD)
    with transaction(sessions) as session, pytest.raises(ValidationFailed):
        create_first_admin(session, code, "", "eve@x.police.uk", "Eve", PASSWORD)
    with sessions() as session:
        assert not has_admin(session)
        assert session.scalar(select(func.count()).select_from(User)) == 0


def _admin_principals(sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with sessions() as session:
        users = session.scalars(select(User).order_by(User.id)).all()
        return [principal_for(session, user) for user in users]


def test_the_last_platform_admin_cannot_be_removed(admin: sessionmaker[Session]) -> None:
    (ada,) = _admin_principals(admin)
    platform_id = next(iter(ada.organisation_ids()))
    with transaction(admin) as session, pytest.raises(ValidationFailed, match="last platform"):
        revoke_role(session, ada, ada.user_id, platform_id, Role.PLATFORM_ADMIN)
    with admin() as session:
        assert has_admin(session)


def test_two_admins_removing_each_other_at_once_leave_one(admin: sessionmaker[Session]) -> None:
    with transaction(admin) as session:
        create_admin(session, Actor("setup"), "bob@assure.police.uk", "Bob", PASSWORD)
    ada, bob = _admin_principals(admin)
    platform_id = next(iter(ada.organisation_ids()))

    def remove(pair) -> str:  # type: ignore[no-untyped-def]
        actor, target = pair
        try:
            with transaction(admin) as session:
                revoke_role(session, actor, target.user_id, platform_id, Role.PLATFORM_ADMIN)
            return "removed"
        except ValidationFailed:
            return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(remove, [(ada, bob), (bob, ada)]))
    assert outcomes == ["refused", "removed"]
    with admin() as session:
        assert has_admin(session)


def test_clients_with_no_known_address_are_not_throttled_together(
    admin: sessionmaker[Session],
) -> None:
    # Without an address (a client on the server itself), one shared bucket would let a single
    # sprayer lock every user out; the account lockout still applies to each account.
    throttle = identity_policy().address_throttle
    for i in range(throttle.max_failures + 1):
        with pytest.raises(SignInFailed):
            sign_in_with_password(admin, f"user{i}@x.police.uk", "spray", None, T0)
    assert sign_in_with_password(admin, EMAIL, PASSWORD, None, T0).email == EMAIL


def test_an_inactive_admin_can_be_removed_while_an_active_one_remains(
    admin: sessionmaker[Session],
) -> None:
    with transaction(admin) as session:
        create_admin(session, Actor("setup"), "bob@assure.police.uk", "Bob", PASSWORD)
        bob = session.scalars(select(User).where(User.email == "bob@assure.police.uk")).one()
        bob.is_active = False
    ada, bob_principal = _admin_principals(admin)
    platform_id = next(iter(ada.organisation_ids()))
    with transaction(admin) as session:
        revoke_role(session, ada, bob_principal.user_id, platform_id, Role.PLATFORM_ADMIN)
    with transaction(admin) as session, pytest.raises(ValidationFailed, match="last platform"):
        revoke_role(session, ada, ada.user_id, platform_id, Role.PLATFORM_ADMIN)
