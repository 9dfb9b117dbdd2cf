"""Second factors for local accounts: TOTP (RFC 6238) with QR enrolment, one-use recovery codes,
re-authentication before a factor changes, and the policy of who must have one. Passkeys
(WebAuthn) are the other kind of factor: posture.identity.passkeys."""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.identity.one_time_codes import code_digest, new_code, normalised
from posture.identity.permissions import Principal
from posture.identity.policy import MfaPolicy, identity_policy
from posture.identity.secretbox import SecretBox
from posture.storage.models import MfaFactor, PasskeyCredential, RecoveryCode, User
from posture.storage.models.enums import Role

TOTP = "totp"
# Session methods that include a second factor; "+webauthn" is a passkey, "+mfa" an identity
# provider's own.
SECOND_FACTOR_SUFFIXES = ("+totp", "+recovery", "+webauthn", "+mfa")
# Recovery codes carry 80 random bits, so a fast hash is enough: no dictionary or brute force
# reaches them, and checking one code costs one indexed lookup rather than ten argon2 runs.
RECOVERY_LENGTH = 16


def mfa_required(roles: set[Role] | frozenset[Role], policy: MfaPolicy | None = None) -> bool:
    policy = policy or identity_policy().mfa
    return bool(set(roles) & policy.required_roles)


def method_has_second_factor(method: str) -> bool:
    return method.endswith(SECOND_FACTOR_SUFFIXES)


def _totp(secret: str, policy: MfaPolicy) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=policy.totp_digits, interval=policy.totp_period_seconds)


def matching_step(secret: str, code: str, now: datetime, policy: MfaPolicy) -> int | None:
    """The time step whose code this is, within the allowed drift, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != policy.totp_digits or not code.isdigit():
        return None
    totp = _totp(secret, policy)
    current = totp.timecode(now)
    found = None
    # Every candidate is compared, so the time taken does not say which step matched.
    for offset in range(-policy.totp_valid_window, policy.totp_valid_window + 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            found = current + offset
    return found


@dataclass(frozen=True)
class TotpEnrolment:
    """A secret offered to a user; nothing is stored until they prove their app has it."""

    secret: str
    uri: str
    qr_png: bytes


def new_enrolment(email: str, policy: MfaPolicy | None = None) -> TotpEnrolment:
    policy = policy or identity_policy().mfa
    secret = pyotp.random_base32(length=32)
    uri = _totp(secret, policy).provisioning_uri(name=email, issuer_name=policy.issuer)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=5, border=2)
    return TotpEnrolment(secret, uri, buffer.getvalue())


def _recovery_digest(code: str) -> str:
    return code_digest(code).hex()


def _new_recovery_codes(count: int) -> list[str]:
    return [new_code(RECOVERY_LENGTH, 4) for _ in range(count)]


def looks_like_recovery_code(code: str) -> bool:
    return len(normalised(code)) == RECOVERY_LENGTH


def _context(user_id: int) -> str:
    return f"totp:user:{user_id}"


def factor_of(session: Session, user_id: int) -> MfaFactor | None:
    return session.scalar(
        select(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.kind == TOTP)
    )


def has_factor(session: Session, user_id: int) -> bool:
    """Whether the user has an authenticator app (TOTP)."""
    return factor_of(session, user_id) is not None


def has_passkey(session: Session, user_id: int) -> bool:
    found = session.scalar(
        select(PasskeyCredential.id).where(PasskeyCredential.user_id == user_id).limit(1)
    )
    return found is not None


def has_second_factor(session: Session, user_id: int) -> bool:
    """Whether the user has any second factor: an authenticator app or a passkey."""
    return has_factor(session, user_id) or has_passkey(session, user_id)


def first_factor_codes(session: Session, user_id: int) -> list[str]:
    """Recovery codes for someone enrolling their first factor, shown once; none for a further
    factor, which keeps the codes they already have."""
    if has_second_factor(session, user_id):
        return []
    return new_recovery_codes(session, user_id)


def new_recovery_codes(session: Session, user_id: int) -> list[str]:
    return _replace_recovery_codes(session, user_id, identity_policy().mfa.recovery_codes)


def _replace_recovery_codes(session: Session, user_id: int, count: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = _new_recovery_codes(count)
    session.add_all(
        RecoveryCode(user_id=user_id, code_sha256=_recovery_digest(code)) for code in codes
    )
    return codes


def confirm_enrolment(
    session: Session,
    box: SecretBox,
    actor: Actor,
    user_id: int,
    secret: str,
    code: str,
    now: datetime | None = None,
) -> list[str]:
    """Store the factor once the user's app produced a valid code; return recovery codes, which
    are shown this once and kept only as hashes (none when a passkey already has codes)."""
    now = now or utcnow()
    policy = identity_policy().mfa
    step = matching_step(secret, code, now, policy)
    if step is None:
        raise ValidationFailed(
            "that code does not match: check the authenticator app's clock and try the newest code"
        )
    if has_factor(session, user_id):
        raise ValidationFailed("two-step verification is already set up for this account")
    codes = first_factor_codes(session, user_id)
    session.add(
        MfaFactor(
            user_id=user_id,
            kind=TOTP,
            secret_ciphertext=box.seal(secret, _context(user_id)),
            last_used_step=step,
            confirmed_at=now,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed("two-step verification is already set up for this account") from None
    record(session, actor, "mfa.enrolled", "user", user_id, {"kind": TOTP})
    return codes


def accept_code(
    session: Session, box: SecretBox, user_id: int, code: str, now: datetime | None = None
) -> str | None:
    """Use a TOTP or recovery code; the factor kind ("totp" or "recovery") or None. A code is
    accepted once: the step (or recovery code) is claimed by a conditional update, so twenty
    parallel submissions of one code admit one."""
    now = now or utcnow()
    policy = identity_policy().mfa
    if looks_like_recovery_code(code):
        claimed = session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_sha256 == _recovery_digest(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return "recovery" if claimed.rowcount == 1 else None
    factor = factor_of(session, user_id)
    if factor is None:
        return None
    secret = box.open(factor.secret_ciphertext, _context(user_id))
    step = matching_step(secret, code, now, policy)
    if step is None:
        return None
    claimed = session.execute(
        update(MfaFactor)
        .where(MfaFactor.id == factor.id, MfaFactor.last_used_step < step)
        .values(last_used_step=step)
    )
    return TOTP if claimed.rowcount == 1 else None


def recovery_codes_left(session: Session, user_id: int) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    return len(rows)


def regenerate_recovery_codes(session: Session, principal: Principal) -> list[str]:
    """New codes replace the old ones. The caller must have re-authenticated first."""
    if not has_second_factor(session, principal.user_id):
        raise ValidationFailed("set up two-step verification first")
    codes = new_recovery_codes(session, principal.user_id)
    record(
        session,
        Actor(label=principal.email, user_id=principal.user_id),
        "mfa.recovery_codes_replaced",
        "user",
        principal.user_id,
    )
    return codes


def remove_factor(session: Session, actor: Actor, user_id: int, reason: str) -> bool:
    """Remove the authenticator app, by the user after re-authenticating. The recovery codes go
    too unless a passkey remains, which they still stand in for."""
    removed = session.execute(delete(MfaFactor).where(MfaFactor.user_id == user_id)).rowcount
    drop_codes_without_factor(session, user_id)
    if removed:
        record(session, actor, "mfa.removed", "user", user_id, {"reason": reason[:200]})
    return bool(removed)


def drop_codes_without_factor(session: Session, user_id: int) -> None:
    if not has_second_factor(session, user_id):
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def reset_by_admin(session: Session, actor: Actor, email: str) -> int:
    """Every second factor and recovery code goes, for someone who lost their devices; they
    enrol again at their next sign-in."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ValidationFailed(f"no account for {email}")
    totp = session.execute(delete(MfaFactor).where(MfaFactor.user_id == user.id)).rowcount
    passkeys = session.execute(
        delete(PasskeyCredential).where(PasskeyCredential.user_id == user.id)
    ).rowcount
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if not (totp or passkeys):
        raise ValidationFailed(f"{user.email} has no second factor to reset")
    data = {"reason": "reset by an administrator", "totp": bool(totp), "passkeys": passkeys}
    record(session, actor, "mfa.removed", "user", user.id, data)
    return user.id
