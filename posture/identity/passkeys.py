"""Passkeys (WebAuthn security keys and platform authenticators) as a second factor.

Challenges are rows in the database, not page state. A row names the user and the purpose it
was issued for and when it expires, and the first answer deletes it (DELETE ... RETURNING), so
a challenge is answered once however many copies of the answer arrive at once, from whichever
process or page, and an answer to someone else's challenge finds nothing. The page keeps only
the row's handle, which the browser never sees.

The signature counter is claimed with a conditional UPDATE: an answer is refused unless its
counter is above the stored one, so a cloned key that lags behind is caught even by parallel
requests. Authenticators that keep no counter report 0 every time; 0 after 0 is accepted, and
those rely on the single-use challenge alone, as the WebAuthn spec allows.

Everything the browser sends is hostile until verified: its size is capped before it is parsed,
and whatever the parsers raise, the answer is refused and nothing is stored."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.audit import Actor, record
from posture.identity import mfa
from posture.identity.policy import identity_policy
from posture.storage.models import PasskeyChallenge, PasskeyCredential, User

WEBAUTHN = "webauthn"
REGISTER, AUTHENTICATE = "register", "authenticate"
# A "none" attestation answer is about 1 KB; 64 KB leaves room for certificate chains and stops
# a large body before any parser sees it.
MAX_ANSWER_CHARS = 64 * 1024
MAX_PASSKEYS = 10
# Challenges a user may have open per purpose (tabs, devices); older ones are dropped.
MAX_OPEN_CHALLENGES = 5
DEFAULT_LABEL = "Security key"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the id they are bound to and the origin answers must carry."""

    id: str
    name: str
    origin: str


def relying_party(settings: Settings) -> RelyingParty | None:
    """The configured relying party, or None when passkeys are not set up (no origin)."""
    if settings.webauthn_origin is None:
        return None
    host = urlsplit(settings.webauthn_origin).hostname or ""
    name = identity_policy().mfa.issuer
    return RelyingParty(settings.webauthn_rp_id or host, name, settings.webauthn_origin)


@dataclass(frozen=True)
class Ceremony:
    """A challenge issued for the browser. `handle` stays on the server; `options_json` goes to
    navigator.credentials.create() or .get()."""

    handle: str
    user_id: int
    purpose: str
    options_json: str
    expires_at: datetime

    @property
    def tag(self) -> str:
        """A name for the ceremony that may go to the browser, unlike the handle."""
        return hashlib.sha256(self.handle.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PasskeyAnswer:
    """The browser's answer to a ceremony, as it arrived: unverified."""

    ceremony: str
    response: str


@dataclass(frozen=True)
class AssertionCheck:
    """The outcome of checking a sign-in answer: the key's label, or why it was refused."""

    accepted: bool
    detail: str


@dataclass(frozen=True)
class Registration:
    refusal: str | None
    recovery_codes: list[str] = field(default_factory=list)


def passkeys_of(session: Session, user_id: int) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user_id)
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def _timeout() -> timedelta:
    return timedelta(seconds=identity_policy().mfa.passkey_timeout_seconds)


def _descriptor(credential: PasskeyCredential) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    transports = [AuthenticatorTransport(t) for t in credential.transports if t in known]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential.credential_id), transports=transports or None
    )


def _issue(
    session: Session, user_id: int, purpose: str, challenge: bytes, options: str, now: datetime
) -> Ceremony:
    session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now))
    stale = select(PasskeyChallenge.id).where(
        PasskeyChallenge.user_id == user_id, PasskeyChallenge.purpose == purpose
    )
    older = stale.order_by(PasskeyChallenge.created_at.desc()).offset(MAX_OPEN_CHALLENGES - 1)
    session.execute(
        delete(PasskeyChallenge).where(PasskeyChallenge.id.in_(older.scalar_subquery()))
    )
    handle = secrets.token_urlsafe(32)
    expires_at = now + _timeout()
    session.add(
        PasskeyChallenge(
            id=handle,
            user_id=user_id,
            purpose=purpose,
            challenge=bytes_to_base64url(challenge),
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return Ceremony(handle, user_id, purpose, options, expires_at)


def begin_registration(
    session: Session, rp: RelyingParty, user_id: int, now: datetime | None = None
) -> Ceremony:
    """Options for navigator.credentials.create(). The caller must have re-authenticated the
    user first, or be completing a sign-in that must enrol a factor."""
    now = now or utcnow()
    user = session.get_one(User, user_id)
    existing = passkeys_of(session, user_id)
    if len(existing) >= MAX_PASSKEYS:
        raise ValidationFailed(
            f"an account can have {MAX_PASSKEYS} security keys; remove one you no longer use"
        )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.email,
        user_display_name=user.display_name or user.email,
        timeout=int(_timeout().total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(credential) for credential in existing],
    )
    return _issue(session, user_id, REGISTER, options.challenge, options_to_json(options), now)


def begin_authentication(
    session: Session, rp: RelyingParty, user_id: int, now: datetime | None = None
) -> Ceremony | None:
    """Options for navigator.credentials.get() naming the user's keys; None if they have none.
    Only ever offered after the password: the key ids say nothing before it."""
    now = now or utcnow()
    credentials = passkeys_of(session, user_id)
    if not credentials:
        return None
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=int(_timeout().total_seconds() * 1000),
        allow_credentials=[_descriptor(credential) for credential in credentials],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _issue(session, user_id, AUTHENTICATE, options.challenge, options_to_json(options), now)


def _take_challenge(
    session: Session, ceremony: str, user_id: int, purpose: str, now: datetime
) -> bytes | None:
    """Delete the challenge and return it, if it was issued to this user for this purpose and
    has not expired. Of parallel answers, exactly one gets the row."""
    taken = session.execute(
        delete(PasskeyChallenge)
        .where(
            PasskeyChallenge.id == ceremony[:64],
            PasskeyChallenge.user_id == user_id,
            PasskeyChallenge.purpose == purpose,
        )
        .returning(PasskeyChallenge.challenge, PasskeyChallenge.expires_at)
    ).one_or_none()
    if taken is None or taken.expires_at <= now:
        return None
    return base64url_to_bytes(taken.challenge)


def _parse(response: object) -> dict[str, Any] | None:
    if not isinstance(response, str) or len(response) > MAX_ANSWER_CHARS:
        return None
    try:
        parsed = json.loads(response)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        return None
    return parsed if len(parsed["id"]) <= 1400 else None


def _transports(parsed: dict[str, Any]) -> list[str]:
    """The transports the browser reported, where they are ones WebAuthn names."""
    response = parsed.get("response")
    listed = response.get("transports") if isinstance(response, dict) else None
    known = {transport.value for transport in AuthenticatorTransport}
    if not isinstance(listed, list):
        return []
    return sorted({t for t in listed if isinstance(t, str) and t in known})


def clean_label(label: str) -> str:
    cleaned = " ".join(_CONTROL.sub("", label).split())[:60]
    return cleaned or DEFAULT_LABEL


def register(
    session: Session,
    rp: RelyingParty,
    actor: Actor,
    user_id: int,
    answer: PasskeyAnswer,
    label: str,
    now: datetime | None = None,
) -> Registration:
    """Store the key the browser registered for `answer.ceremony`, once verified. Refusals are
    returned, not raised, so the caller commits the spent challenge before saying no. The first
    factor comes with recovery codes."""
    now = now or utcnow()
    challenge = _take_challenge(session, answer.ceremony, user_id, REGISTER, now)
    parsed = _parse(answer.response)
    if challenge is None:
        return Registration("that security key request has expired; start again")
    if parsed is None:
        return Registration("the browser's answer could not be read; try again")
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    # Hostile input reaches CBOR, COSE and ASN.1 parsers: whatever they raise is a refusal.
    except Exception:
        return Registration("the security key's answer could not be verified; try again")
    credential_id = bytes_to_base64url(verified.credential_id)
    label = clean_label(label)
    taken = session.scalar(
        select(PasskeyCredential.user_id).where(PasskeyCredential.credential_id == credential_id)
    )
    if taken is not None:
        return Registration("that security key is already registered")
    if session.scalar(
        select(PasskeyCredential.id).where(
            PasskeyCredential.user_id == user_id, PasskeyCredential.label == label
        )
    ):
        return Registration(f"you already have a key called {label!r}; choose another name")
    first_factor = not mfa.has_second_factor(session, user_id)
    transports = _transports(parsed)
    try:
        with session.begin_nested():
            session.add(
                PasskeyCredential(
                    user_id=user_id,
                    credential_id=credential_id,
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    transports=transports,
                    label=label,
                    created_at=now,
                )
            )
    except IntegrityError:
        return Registration("that security key is already registered")
    data = {"label": label, "transports": transports}
    record(session, actor, "mfa.passkey_registered", "user", user_id, data)
    return Registration(None, mfa.new_recovery_codes(session, user_id) if first_factor else [])


def check_assertion(
    session: Session,
    rp: RelyingParty,
    user_id: int,
    answer: PasskeyAnswer,
    now: datetime | None = None,
) -> AssertionCheck:
    """Verify a sign-in answer and claim its signature counter. The challenge is spent whatever
    the outcome; `detail` is for the audit trail, never for the person signing in."""
    now = now or utcnow()
    challenge = _take_challenge(session, answer.ceremony, user_id, AUTHENTICATE, now)
    if challenge is None:
        return AssertionCheck(False, "passkey challenge unknown, spent or expired")
    parsed = _parse(answer.response)
    if parsed is None:
        return AssertionCheck(False, "passkey answer unreadable or too large")
    credential = session.scalar(
        select(PasskeyCredential).where(
            PasskeyCredential.credential_id == parsed["id"], PasskeyCredential.user_id == user_id
        )
    )
    if credential is None:
        return AssertionCheck(False, "passkey not registered to this account")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=credential.public_key,
            credential_current_sign_count=credential.sign_count,
        )
    except Exception as exc:  # as in register(): any parser failure is a refusal
        return AssertionCheck(False, f"passkey answer not verified: {str(exc)[:160]}")
    if not claim_counter(session, credential.id, verified.new_sign_count, now):
        return AssertionCheck(False, "passkey counter did not increase: a cloned key?")
    return AssertionCheck(True, credential.label)


def claim_counter(session: Session, passkey_id: int, counter: int, now: datetime) -> bool:
    """Store a newer signature counter, atomically: true only if `counter` is above the stored
    one, or both are 0 (an authenticator without a counter)."""
    stored = PasskeyCredential.sign_count
    newer = stored == 0 if counter == 0 else stored < counter
    claimed = session.execute(
        update(PasskeyCredential)
        .where(PasskeyCredential.id == passkey_id, newer)
        .values(sign_count=counter, last_used_at=now)
    )
    return claimed.rowcount == 1


def remove_passkey(session: Session, actor: Actor, user_id: int, passkey_id: int) -> bool:
    """Remove one of the user's keys (after re-authenticating). With no factor left, the
    recovery codes go too."""
    label = session.scalar(
        delete(PasskeyCredential)
        .where(PasskeyCredential.id == passkey_id, PasskeyCredential.user_id == user_id)
        .returning(PasskeyCredential.label)
    )
    if label is None:
        return False
    mfa.drop_codes_without_factor(session, user_id)
    record(session, actor, "mfa.passkey_removed", "user", user_id, {"label": label})
    return True
