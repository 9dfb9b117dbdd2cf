"""Local accounts: one first admin, lockout after failures, sessions that expire and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.accounts import create_admin, grant_role, principal_for
from posture.identity.permissions import PermissionDenied, Principal
from posture.identity.policy import identity_policy
from posture.identity.sessions import close_session, open_session, resume_session
from posture.identity.setup import SetupCode, create_first_admin
from posture.identity.signin import SIGN_IN_FAILED, SignInFailed, Verified, sign_in_with_password
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, User
from posture.storage.models.enums import Role

PASSWORD = "a sensible long passphrase"
T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        create_admin(session, Actor("setup"), "ada@assure.police.uk", "Ada", PASSWORD)
    return sessions


def _sign_in(sessions: sessionmaker[Session], password: str, when: datetime) -> Verified:
    return sign_in_with_password(sessions, "ada@assure.police.uk", password, now=when)


def _principal(sessions: sessionmaker[Session]) -> Principal:
    with sessions() as session:
        user = session.scalars(select(User).where(User.email == "ada@assure.police.uk")).one()
        return principal_for(session, user)


def _fail(sessions: sessionmaker[Session], password: str, when: datetime) -> str:
    with pytest.raises(SignInFailed) as failed:
        sign_in_with_password(sessions, "ada@assure.police.uk", password, now=when)
    return str(failed.value)


def test_the_first_admin_can_be_created_only_once(admin: sessionmaker[Session]) -> None:
    code, shown = SetupCode.generate()
    with admin() as session, pytest.raises(ValidationFailed, match="already been created"):
        create_first_admin(session, code, shown, "eve@x.police.uk", "Eve", PASSWORD)


def test_the_password_is_stored_as_argon2id(admin: sessionmaker[Session]) -> None:
    with admin() as session:
        stored = session.scalar(select(User.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_password_sign_in_is_audited_and_an_admin_must_enrol_a_second_factor(
    admin: sessionmaker[Session],
) -> None:
    verified = _sign_in(admin, PASSWORD, T0)
    assert verified.next_step == "enrol"
    with admin() as session:
        assert (
            session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()[-1]
            == "auth.password_verified"
        )


def test_unknown_email_and_wrong_password_read_the_same(admin: sessionmaker[Session]) -> None:
    wrong = _fail(admin, "not the password at all", T0)
    with pytest.raises(SignInFailed) as unknown:
        sign_in_with_password(admin, "nobody@assure.police.uk", PASSWORD, now=T0)
    assert wrong == str(unknown.value) == SIGN_IN_FAILED


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    admin: sessionmaker[Session],
) -> None:
    policy = identity_policy()
    for attempt in range(policy.max_failed_logins):
        _fail(admin, f"wrong guess {attempt}", T0 + timedelta(seconds=attempt))
    _fail(admin, PASSWORD, T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=policy.lockout_minutes + 1)
    assert _sign_in(admin, PASSWORD, later).user_id == _principal(admin).user_id
    with admin() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("auth.login_failed") == policy.max_failed_logins
    assert "auth.login_refused" in actions


def test_a_session_ends_after_idle_time(admin: sessionmaker[Session]) -> None:
    with transaction(admin) as session:
        token = open_session(session, _principal(admin), "password+totp", now=T0)
    idle = timedelta(minutes=identity_policy().session_idle_minutes)
    with transaction(admin) as session:
        assert resume_session(session, token, now=T0 + idle / 2) is not None
    with transaction(admin) as session:
        assert resume_session(session, token, now=T0 + idle / 2 + idle * 1.01) is None


def test_a_session_ends_at_its_absolute_limit_however_active(
    admin: sessionmaker[Session],
) -> None:
    with transaction(admin) as session:
        token = open_session(session, _principal(admin), "password+totp", now=T0)
    step = timedelta(minutes=identity_policy().session_idle_minutes - 1)
    moment = T0
    limit = T0 + timedelta(hours=identity_policy().session_absolute_hours)
    while moment + step < limit:
        moment += step
        with transaction(admin) as session:
            assert resume_session(session, token, now=moment) is not None
    with transaction(admin) as session:
        assert resume_session(session, token, now=limit + timedelta(seconds=1)) is None


def test_logout_revokes_the_session(admin: sessionmaker[Session]) -> None:
    with transaction(admin) as session:
        token = open_session(session, _principal(admin), "password+totp", now=T0)
    with transaction(admin) as session:
        close_session(session, token, now=T0 + timedelta(minutes=1))
    with transaction(admin) as session:
        assert resume_session(session, token, now=T0 + timedelta(minutes=2)) is None
    with admin() as session:
        assert (
            "auth.logout"
            in session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        )


def test_an_unknown_session_token_gives_nothing(admin: sessionmaker[Session]) -> None:
    with transaction(admin) as session:
        assert resume_session(session, "made-up-token", now=T0) is None


def test_supplier_admins_grant_only_supplier_roles_in_their_own_org(world_db) -> None:
    world, sessions, _ = world_db
    supplier_admin = world.principal(Role.SUPPLIER_ADMIN)
    own = world.orgs["s1"].organisation_id
    target = world.users[Role.CHALLENGE_JUDGE]
    with transaction(sessions) as session:
        grant_role(session, supplier_admin, target, own, Role.SUPPLIER_MEMBER)
    with sessions() as session, pytest.raises(PermissionDenied, match="only grant supplier"):
        grant_role(session, supplier_admin, target, own, Role.PLATFORM_ADMIN)
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-1] == "role.granted"
