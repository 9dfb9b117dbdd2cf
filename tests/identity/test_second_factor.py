"""Two-step verification: enrolment, codes that work once, recovery codes, the roles that must
have it, and a secret that a copy of the database does not reveal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from kernel.settings import load_settings
from posture.audit import Actor
from posture.identity import mfa
from posture.identity.accounts import create_admin, grant_role, principal_for
from posture.identity.permissions import PermissionDenied
from posture.identity.policy import identity_policy
from posture.identity.secretbox import SecretBox, SecretUnreadable, secret_box
from posture.identity.sessions import open_session, resume_session
from posture.identity.signin import (
    SignInFailed,
    Verified,
    complete_enrolment,
    complete_with_code,
    reauthenticate,
    sign_in_with_password,
)
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, MfaFactor, User
from posture.storage.models.enums import Role

EMAIL, PASSWORD = "ada@assure.police.uk", "a sensible long passphrase"
T0 = datetime(2026, 12, 5, 9, 0, 7, tzinfo=UTC)
STEP = timedelta(seconds=identity_policy().mfa.totp_period_seconds)


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return secret_box(load_settings({"ASSURE_DATA_DIR": str(tmp_path / "keys")}))


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        create_admin(session, Actor("setup"), EMAIL, "Ada", PASSWORD)
    return sessions


def _code(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def _enrolled(sessions: sessionmaker[Session], box: SecretBox) -> tuple[str, list[str]]:
    """Ada signs in, must enrol, and does; returns her secret and recovery codes."""
    verified = sign_in_with_password(sessions, EMAIL, PASSWORD, now=T0)
    assert verified.next_step == "enrol"
    enrolment = mfa.new_enrolment(EMAIL)
    assert enrolment.uri.startswith("otpauth://totp/")
    assert enrolment.qr_png.startswith(b"\x89PNG")
    principal, method, codes = complete_enrolment(
        sessions, box, verified, enrolment.secret, _code(enrolment.secret, T0), now=T0
    )
    assert principal.email == EMAIL
    assert method == "password+totp"
    return enrolment.secret, codes


def _second_step(sessions: sessionmaker[Session], when: datetime) -> Verified:
    verified = sign_in_with_password(sessions, EMAIL, PASSWORD, now=when)
    assert verified.next_step == "verify"
    return verified


def test_an_admin_enrols_then_signs_in_with_a_code(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, codes = _enrolled(admin, box)
    assert len(codes) == identity_policy().mfa.recovery_codes
    later = T0 + 10 * STEP
    verified = _second_step(admin, later)
    principal, method = complete_with_code(admin, box, verified, _code(secret, later), now=later)
    assert method == "password+totp"
    with transaction(admin) as session:
        token = open_session(session, principal, method, now=later)
    with transaction(admin) as session:
        assert resume_session(session, token, now=later) is not None


def test_a_code_works_once_however_many_send_it_at_once(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    later = T0 + 10 * STEP
    verified = _second_step(admin, later)
    code = _code(secret, later)

    def submit(_: int) -> str:
        try:
            return complete_with_code(admin, box, verified, code, now=later)[1]
        except SignInFailed:
            return "refused"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(submit, range(20)))
    assert outcomes.count("password+totp") == 1
    assert outcomes.count("refused") == 19


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    verified = _second_step(admin, T0)
    with pytest.raises(SignInFailed):
        complete_with_code(admin, box, verified, _code(secret, T0), now=T0)


def test_a_recovery_code_signs_in_once(admin: sessionmaker[Session], box: SecretBox) -> None:
    _, codes = _enrolled(admin, box)
    later = T0 + 10 * STEP
    principal, method = complete_with_code(
        admin, box, _second_step(admin, later), codes[0].lower(), now=later
    )
    assert method == "password+recovery"
    with pytest.raises(SignInFailed):
        complete_with_code(admin, box, _second_step(admin, later), codes[0], now=later)
    with admin() as session:
        assert mfa.recovery_codes_left(session, principal.user_id) == len(codes) - 1


def test_wrong_codes_lock_the_account_like_wrong_passwords(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    later = T0 + 10 * STEP
    verified = _second_step(admin, later)
    for guess in range(identity_policy().max_failed_logins):
        with pytest.raises(SignInFailed):
            complete_with_code(admin, box, verified, f"{guess:06d}", now=later)
    with pytest.raises(SignInFailed):
        complete_with_code(admin, box, verified, _code(secret, later), now=later)


def test_a_verified_password_waits_only_so_long_for_its_code(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    later = T0 + 10 * STEP
    verified = _second_step(admin, later)
    too_late = later + timedelta(minutes=identity_policy().mfa.pending_minutes, seconds=1)
    with pytest.raises(SignInFailed):
        complete_with_code(admin, box, verified, _code(secret, too_late), now=too_late)


def test_a_session_without_a_second_factor_is_refused_for_roles_that_need_one(
    admin: sessionmaker[Session],
) -> None:
    with admin() as session:
        principal = principal_for(session, session.scalars(select(User)).one())
    with transaction(admin) as session, pytest.raises(PermissionDenied, match="two-step"):
        open_session(session, principal, "password")
    with transaction(admin) as session, pytest.raises(PermissionDenied):
        open_session(session, principal, "oidc")
    with transaction(admin) as session:
        assert open_session(session, principal, "oidc+mfa")


def test_a_session_ends_when_its_holder_gains_a_role_that_needs_a_second_factor(
    world_db,
) -> None:
    world, sessions, _ = world_db
    member = world.principal(Role.SUPPLIER_MEMBER)
    admin = world.principal(Role.PLATFORM_ADMIN)
    with transaction(sessions) as session:
        token = open_session(session, member, "password")
    with transaction(sessions) as session:
        assert resume_session(session, token) is not None
        national = world.orgs["n1"].organisation_id
        grant_role(session, admin, member.user_id, national, Role.NATIONAL_ASSESSOR)
    with transaction(sessions) as session:
        assert resume_session(session, token) is None


def test_the_secret_is_not_in_the_database_and_opens_only_with_its_key(
    admin: sessionmaker[Session], box: SecretBox, tmp_path: Path
) -> None:
    secret, _ = _enrolled(admin, box)
    with admin() as session:
        stored = session.scalars(select(MfaFactor)).one()
        dump = " ".join(
            str(value)
            for row in session.execute(text("SELECT * FROM mfa_factors"))
            for value in row
        )
    assert secret not in dump
    assert box.open(stored.secret_ciphertext, f"totp:user:{stored.user_id}") == secret
    other = secret_box(load_settings({"ASSURE_DATA_DIR": str(tmp_path / "other")}))
    with pytest.raises(SecretUnreadable, match="reset-mfa"):
        other.open(stored.secret_ciphertext, f"totp:user:{stored.user_id}")
    with pytest.raises(SecretUnreadable):  # moved to another user's row
        box.open(stored.secret_ciphertext, f"totp:user:{stored.user_id + 1}")


def test_concurrent_first_uses_of_a_data_folder_agree_on_one_key(tmp_path: Path) -> None:
    settings = load_settings({"ASSURE_DATA_DIR": str(tmp_path / "fresh")})
    with ThreadPoolExecutor(max_workers=20) as pool:
        keys = set(pool.map(lambda _: secret_box(settings).key, range(20)))
    assert len(keys) == 1
    assert (tmp_path / "fresh" / "secret-box.key").stat().st_mode & 0o077 == 0


def test_changing_the_factor_needs_the_password_and_a_current_code(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    with admin() as session:
        user_id = session.scalars(select(User.id)).one()
    later = T0 + 10 * STEP
    with pytest.raises(SignInFailed):
        reauthenticate(admin, box, user_id, "not my password", _code(secret, later), now=later)
    with pytest.raises(SignInFailed):
        reauthenticate(admin, box, user_id, PASSWORD, "000000", now=later)
    reauthenticate(admin, box, user_id, PASSWORD, _code(secret, later + STEP), now=later)


def test_a_second_enrolment_is_refused_and_an_admin_reset_allows_a_new_one(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    _enrolled(admin, box)
    with admin() as session:
        user_id = session.scalars(select(User.id)).one()
    fresh = mfa.new_enrolment(EMAIL)
    with transaction(admin) as session, pytest.raises(ValidationFailed, match="already"):
        mfa.confirm_enrolment(
            session, box, Actor("x"), user_id, fresh.secret, _code(fresh.secret, T0), T0
        )
    with transaction(admin) as session:
        mfa.reset_by_admin(session, Actor("cli"), EMAIL)
    assert sign_in_with_password(admin, EMAIL, PASSWORD, now=T0).next_step == "enrol"


def test_a_wrong_enrolment_code_stores_nothing(admin: sessionmaker[Session], box: SecretBox):
    verified = sign_in_with_password(admin, EMAIL, PASSWORD, now=T0)
    enrolment = mfa.new_enrolment(EMAIL)
    with pytest.raises(ValidationFailed, match="does not match"):
        complete_enrolment(admin, box, verified, enrolment.secret, "123456", now=T0)
    with admin() as session:
        assert not mfa.has_factor(session, verified.user_id)


def test_optional_roles_sign_in_with_a_password_until_they_enrol(world_db) -> None:
    world, sessions, _ = world_db
    member = world.principal(Role.SUPPLIER_MEMBER)
    assert not mfa.mfa_required(member.roles())
    assert mfa.mfa_required({Role.PROCUREMENT_OFFICER})
    assert mfa.mfa_required({Role.NATIONAL_ASSESSOR, Role.SUPPLIER_MEMBER})
    with transaction(sessions) as session:
        assert open_session(session, member, "password")


def test_knowing_the_password_buys_no_more_code_guesses_than_the_lockout_allows(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    later = T0 + 10 * STEP
    for _cycle in range(3):
        try:
            verified = sign_in_with_password(admin, EMAIL, PASSWORD, now=later)
        except SignInFailed:
            break
        for guess in range(4):
            with pytest.raises(SignInFailed):
                complete_with_code(admin, box, verified, f"{guess:06d}", now=later)
    with pytest.raises(SignInFailed):
        complete_with_code(admin, box, verified, _code(secret, later), now=later)
    with admin() as session:
        checked = [
            event.shown_data.get("reason")
            for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if event.action == "auth.mfa_failed"
        ]
    assert checked.count("wrong code") == identity_policy().max_failed_logins


def test_the_fifth_try_being_the_right_password_still_reaches_the_second_step(
    admin: sessionmaker[Session], box: SecretBox
) -> None:
    secret, _ = _enrolled(admin, box)
    later = T0 + 10 * STEP
    for guess in range(identity_policy().max_failed_logins - 1):
        with pytest.raises(SignInFailed):
            sign_in_with_password(admin, EMAIL, f"wrong {guess}", now=later)
    verified = sign_in_with_password(admin, EMAIL, PASSWORD, now=later)
    _, method = complete_with_code(admin, box, verified, _code(secret, later), now=later)
    assert method == "password+totp"


def test_an_admin_reset_for_a_lost_device_also_ends_the_users_sessions(
    sqlite_env: dict[str, str],
) -> None:
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.migrate import upgrade
    from tests.cli import assure

    settings = load_settings(sqlite_env)
    engine = build_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        create_admin(session, Actor("setup"), EMAIL, "Ada", PASSWORD)
    _enrolled(sessions, secret_box(settings))
    with sessions() as session:
        principal = principal_for(session, session.scalars(select(User)).one())
    with transaction(sessions) as session:
        token = open_session(session, principal, "password+totp")
    reset = assure("admin", "reset-mfa", "--email", EMAIL, env=sqlite_env)
    assert reset.returncode == 0, reset.stderr
    assert "1 session(s) ended" in reset.stdout
    with transaction(sessions) as session:
        assert resume_session(session, token) is None
        assert not mfa.has_second_factor(session, principal.user_id)
    engine.dispose()
