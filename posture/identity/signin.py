"""Signing in: a password, then a second factor (a code or a passkey) where the account has one
or its roles need one. Failures are counted before a password or factor is checked, in one
atomic update per account and one per client address, so parallel guesses cannot outrun the
lockout; no lock is held while the password hash is computed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, case, select, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.errors import AssureError, ValidationFailed
from posture.audit import Actor, record
from posture.identity import mfa, passkeys
from posture.identity.accounts import principal_for
from posture.identity.passkeys import PasskeyAnswer, RelyingParty
from posture.identity.passwords import needs_rehash, rehash, verify_password
from posture.identity.permissions import Principal
from posture.identity.policy import IdentityPolicy, identity_policy
from posture.identity.secretbox import SecretBox
from posture.storage.dialects import upsert_insert
from posture.storage.engine import transaction
from posture.storage.models import SignInAddress, User

# The actor of a sign-in refused before an account is known.
SIGN_IN = Actor(label="sign-in")
SIGN_IN_FAILED = (
    "sign-in failed: wrong email, password or code, or too many attempts; wait a while and "
    "try again"
)
NextStep = Literal["done", "verify", "enrol"]


class SignInFailed(AssureError):
    """Deliberately one message for every reason, so it reveals nothing about accounts."""


@dataclass(frozen=True)
class Verified:
    """A first factor passed. `next_step` says what must follow before a session opens."""

    user_id: int
    email: str
    method: str  # "password" or "oidc"
    next_step: NextStep
    verified_at: datetime


def _address_key(address: str | None) -> str | None:
    return (address or "").strip()[:64] or None


def _reserve_address(
    session: Session, address: str | None, now: datetime, policy: IdentityPolicy
) -> bool:
    """Count this attempt against the address before anything is checked; False when the
    address has used up its window. No address (a client on this host, which is inside
    already) is not throttled: one shared key would let anyone lock everyone out."""
    if address is None:
        return True
    cutoff = now - timedelta(minutes=policy.address_throttle.window_minutes)
    table = SignInAddress.__table__
    expired = table.c.window_started_at <= cutoff
    statement = (
        upsert_insert(session, table)
        .values(address=address, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.address],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.failures)
    )
    failures = session.execute(statement).scalar_one()
    return failures <= policy.address_throttle.max_failures


def _refund_address(session: Session, address: str | None) -> None:
    if address is None:
        return
    session.execute(
        update(SignInAddress)
        .where(SignInAddress.address == address, SignInAddress.failures > 0)
        .values(failures=SignInAddress.failures - 1)
    )


def _reserve_account(
    session: Session, user_id: int, now: datetime, policy: IdentityPolicy
) -> int | None:
    """Count this attempt as a failure before it is checked; its number, or None if the account
    is locked. The attempt that reaches the limit locks the account at once, so attempts still
    in flight cannot slip past it; a success clears both."""
    limit = policy.max_failed_logins
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    locked = and_(User.locked_until.is_not(None), User.locked_until > now)
    count = case((expired, 1), (locked, limit + 1), else_=User.failed_logins + 1)
    until = now + timedelta(minutes=policy.lockout_minutes)
    lock = case((locked, User.locked_until), (count >= limit, until), else_=None)
    attempt = session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=count, locked_until=lock)
        .returning(User.failed_logins)
    ).scalar_one()
    return attempt if attempt <= limit else None


def _succeeded(session: Session, user_id: int, address: str | None, now: datetime) -> None:
    """The sign-in is complete: clear the account's failures. The address row is touched first,
    in the order the reservations take them, so two sign-ins never wait on each other."""
    _refund_address(session, address)
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=0, locked_until=None, last_login_at=now)
    )


def _first_factor_passed(
    session: Session, user_id: int, address: str | None, attempt: int, policy: IdentityPolicy
) -> None:
    """A correct password with a second factor still to come: give back this attempt only.
    Clearing the account's failures here would let someone who knows the password guess codes
    for ever, a password between every few wrong codes; only a passed second factor clears them.
    A lock this very attempt set is lifted with it, so the fifth try being right still works."""
    _refund_address(session, address)
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            failed_logins=case((User.failed_logins > 0, User.failed_logins - 1), else_=0),
            locked_until=None if attempt >= policy.max_failed_logins else User.locked_until,
        )
    )


def _next_step(session: Session, user_id: int, principal: Principal) -> NextStep:
    if mfa.has_second_factor(session, user_id):
        return "verify"
    return "enrol" if mfa.mfa_required(principal.roles()) else "done"


def sign_in_with_password(
    sessions: sessionmaker[Session],
    email: str,
    password: str,
    address: str | None = None,
    now: datetime | None = None,
) -> Verified:
    now = now or utcnow()
    policy = identity_policy()
    key = _address_key(address)
    email = email.strip().lower()[:254]
    with transaction(sessions) as session:
        address_ok = _reserve_address(session, key, now, policy)
        user = session.scalar(select(User).where(User.email == email))
        usable = user is not None and user.is_active
        attempt = _reserve_account(session, user.id, now, policy) if usable and address_ok else None
        stored_hash = user.password_hash if user is not None and attempt is not None else None
    # Outside any transaction: a password hash takes a while and must not hold a lock.
    correct = verify_password(stored_hash, password)
    fresh_hash = rehash(password) if correct and needs_rehash(stored_hash or "") else None
    with transaction(sessions) as session:
        if not correct:
            _record_failure(session, email, user, attempt, address_ok, usable, policy)
        else:
            assert user is not None
            assert attempt is not None
            principal = principal_for(session, session.get_one(User, user.id))
            step = _next_step(session, user.id, principal)
            if step == "done":
                _succeeded(session, user.id, key, now)
            else:
                _first_factor_passed(session, user.id, key, attempt, policy)
            if fresh_hash is not None:
                session.execute(
                    update(User).where(User.id == user.id).values(password_hash=fresh_hash)
                )
            action = "auth.login" if step == "done" else "auth.password_verified"
            record(session, _actor(user), action, "user", user.id, {"method": "password"})
    if not correct:
        raise SignInFailed(SIGN_IN_FAILED)
    return Verified(user.id, user.email, "password", step, now)


def _actor(user: User) -> Actor:
    return Actor(label=user.email, user_id=user.id)


def _record_failure(
    session: Session,
    email: str,
    user: User | None,
    attempt: int | None,
    address_ok: bool,
    usable: bool,
    policy: IdentityPolicy,
) -> None:
    # What was typed is kept as a personal item ("email" is not a hashed key), never as the
    # actor: it may be anything, a system's name or a password typed in the wrong box included.
    if not address_ok:
        action, actor, object_id = "auth.login_refused", SIGN_IN, "-"
        data: dict[str, object] = {"reason": "address throttled", "email": email}
    elif not usable or user is None:
        action, actor, object_id = "auth.login_failed", SIGN_IN, "-"
        data = {"reason": "unknown or inactive account", "email": email}
    elif attempt is None:
        action, actor, object_id = "auth.login_refused", _actor(user), user.id
        data = {"reason": "locked"}
    else:
        action, actor, object_id = "auth.login_failed", _actor(user), user.id
        data = {"failed_logins": attempt, "locked": attempt >= policy.max_failed_logins}
    record(session, actor, action, "user", object_id, data)


def _still_pending(verified: Verified, now: datetime) -> bool:
    limit = timedelta(minutes=identity_policy().mfa.pending_minutes)
    return now - verified.verified_at <= limit


# Checks a second factor inside the sign-in transaction: the factor kind ("totp", "recovery",
# "webauthn") or None, and what to audit when it failed.
SecondFactorCheck = Callable[[Session, User], tuple[str | None, str]]


def _second_step(
    sessions: sessionmaker[Session],
    verified: Verified,
    check: SecondFactorCheck,
    address: str | None,
    now: datetime,
) -> tuple[Principal, str]:
    """The second step, whatever the factor: the attempt is counted against the account and the
    address before the factor is checked, exactly as a password is."""
    policy = identity_policy()
    key = _address_key(address)
    kind = None
    with transaction(sessions) as session:
        user = session.get_one(User, verified.user_id)
        address_ok = _reserve_address(session, key, now, policy)
        attempt = _reserve_account(session, user.id, now, policy) if address_ok else None
        if attempt is None:
            reason = "locked"
        elif not _still_pending(verified, now):
            reason = "expired step"
        elif not user.is_active:
            reason = "inactive account"
        else:
            kind, reason = check(session, user)
        if kind is None:
            record(session, _actor(user), "auth.mfa_failed", "user", user.id, {"reason": reason})
        else:
            _succeeded(session, user.id, key, now)
            method = f"{verified.method}+{kind}"
            record(session, _actor(user), "auth.login", "user", user.id, {"method": method})
            if kind == "recovery":
                left = mfa.recovery_codes_left(session, user.id)
                record(
                    session, _actor(user), "mfa.recovery_code_used", "user", user.id, {"left": left}
                )
            principal = principal_for(session, user)
    if kind is None:
        raise SignInFailed(SIGN_IN_FAILED)
    return principal, method


def complete_with_code(
    sessions: sessionmaker[Session],
    box: SecretBox,
    verified: Verified,
    code: str,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[Principal, str]:
    """The second step: a TOTP or recovery code. Returns the principal and the session method."""
    now = now or utcnow()

    def check(session: Session, user: User) -> tuple[str | None, str]:
        return mfa.accept_code(session, box, user.id, code[:64], now), "wrong code"

    return _second_step(sessions, verified, check, address, now)


def complete_with_passkey(
    sessions: sessionmaker[Session],
    rp: RelyingParty,
    verified: Verified,
    answer: PasskeyAnswer,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[Principal, str]:
    """The second step with a passkey: the browser's answer to a challenge issued for this
    sign-in. A refused answer counts towards lockout like a wrong code."""
    now = now or utcnow()

    def check(session: Session, user: User) -> tuple[str | None, str]:
        outcome = passkeys.check_assertion(session, rp, user.id, answer, now)
        return (passkeys.WEBAUTHN if outcome.accepted else None), outcome.detail

    return _second_step(sessions, verified, check, address, now)


def complete_enrolment(
    sessions: sessionmaker[Session],
    box: SecretBox,
    verified: Verified,
    secret: str,
    code: str,
    now: datetime | None = None,
) -> tuple[Principal, str, list[str]]:
    """Enrol the factor offered at sign-in; returns the principal, method and recovery codes."""
    now = now or utcnow()
    if not _still_pending(verified, now):
        raise SignInFailed(SIGN_IN_FAILED)
    with transaction(sessions) as session:
        user = _still_without_factor(session, verified)
        codes = mfa.confirm_enrolment(session, box, _actor(user), user.id, secret, code, now)
        method = f"{verified.method}+totp"
        record(session, _actor(user), "auth.login", "user", user.id, {"method": method})
        principal = principal_for(session, user)
    return principal, method, codes


def _still_without_factor(session: Session, verified: Verified) -> User:
    """Enrolling at sign-in admits someone on a password and the factor they just made, which
    is right only while the account has no factor: one set up meanwhile (another tab, another
    device) must be passed, not sidestepped by enrolling a second."""
    user = session.get_one(User, verified.user_id)
    if verified.next_step != "enrol" or mfa.has_second_factor(session, user.id):
        raise ValidationFailed("two-step verification is already set up for this account")
    return user


def complete_passkey_enrolment(
    sessions: sessionmaker[Session],
    rp: RelyingParty,
    verified: Verified,
    answer: PasskeyAnswer,
    label: str,
    now: datetime | None = None,
) -> tuple[Principal, str, list[str]]:
    """Register a passkey as the factor a sign-in must enrol; returns the principal, method and
    recovery codes. A refused answer raises ValidationFailed after its challenge is spent."""
    now = now or utcnow()
    if not _still_pending(verified, now):
        raise SignInFailed(SIGN_IN_FAILED)
    with transaction(sessions) as session:
        user = _still_without_factor(session, verified)
        outcome = passkeys.register(session, rp, _actor(user), user.id, answer, label, now)
        if outcome.refusal is None:
            method = f"{verified.method}+{passkeys.WEBAUTHN}"
            record(session, _actor(user), "auth.login", "user", user.id, {"method": method})
            principal = principal_for(session, user)
    if outcome.refusal is not None:
        raise ValidationFailed(outcome.refusal)
    return principal, method, outcome.recovery_codes


def complete_federated(
    sessions: sessionmaker[Session], principal: Principal, method: str, now: datetime | None = None
) -> None:
    """An identity provider's sign-in that owes no second step: record it as the login."""
    now = now or utcnow()
    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == principal.user_id).values(last_login_at=now))
        actor = Actor(label=principal.email, user_id=principal.user_id)
        record(session, actor, "auth.login", "user", principal.user_id, {"method": method})


def federated_step(session: Session, principal: Principal, mfa_asserted: bool) -> NextStep:
    """After an identity provider vouched for someone: what must follow before a session."""
    if mfa_asserted:
        return "done"
    return _next_step(session, principal.user_id, principal)


def reauthenticate(
    sessions: sessionmaker[Session],
    box: SecretBox,
    user_id: int,
    password: str,
    code: str,
    address: str | None = None,
    now: datetime | None = None,
    passkey: tuple[RelyingParty, PasskeyAnswer] | None = None,
) -> None:
    """Prove it is still the account holder before a factor changes: the password (if the
    account has one) and, if it has any second factor, a current code or a passkey's answer.
    Failures count towards lockout."""
    now = now or utcnow()
    policy = identity_policy()
    key = _address_key(address)
    with transaction(sessions) as session:
        user = session.get_one(User, user_id)
        address_ok = _reserve_address(session, key, now, policy)
        attempt = _reserve_account(session, user_id, now, policy) if address_ok else None
        stored_hash = user.password_hash if attempt is not None else None
        has_password = user.password_hash is not None
    correct = attempt is not None and (not has_password or verify_password(stored_hash, password))
    with transaction(sessions) as session:
        if correct and mfa.has_second_factor(session, user_id):
            if passkey is not None:
                rp, answer = passkey
                correct = passkeys.check_assertion(session, rp, user_id, answer, now).accepted
            else:
                correct = mfa.accept_code(session, box, user_id, code[:64], now) is not None
        if correct:
            _succeeded(session, user_id, key, now)
            record(session, _actor(user), "auth.reauthenticated", "user", user_id)
        else:
            record(session, _actor(user), "auth.reauthentication_failed", "user", user_id)
    if not correct:
        raise SignInFailed(SIGN_IN_FAILED)
