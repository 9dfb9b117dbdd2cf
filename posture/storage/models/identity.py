"""Server-side sessions and API tokens: both revocable, both checked against the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only a hash of the session token is stored, so a database leak does not hand out sessions.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # How the person proved who they are: "password" or "oidc", then "+totp", "+recovery",
    # "+webauthn" (a passkey) or "+mfa" (the identity provider's) when a second factor was passed.
    method: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The browser's own token for the same session, kept in an HttpOnly cookie so a refresh
    # resumes it; set once, when the page redeems its one-time handoff code (hashes only).
    browser_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    description: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the API last accepted it, to the minute (posture.identity.tokens.note_use): written
    # at most once a minute per token, not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PqChallenge(Base):
    """A nonce a supplier must sign with a post-quantum key to prove the capability."""

    __tablename__ = "pq_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    algorithm: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))


class MfaFactor(Base):
    """A confirmed second factor. The TOTP secret is stored encrypted (posture.identity.secretbox)
    so a copy of the database alone does not let anyone mint codes."""

    __tablename__ = "mfa_factors"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "totp"
    secret_ciphertext: Mapped[str] = mapped_column(String(255))
    # The newest TOTP time step accepted: a code is good once, so a watched code cannot be replayed.
    last_used_step: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PasskeyCredential(Base):
    """A WebAuthn credential (security key or platform passkey) registered as a second factor.
    Only the public key is held; the private key never leaves the authenticator."""

    __tablename__ = "passkey_credentials"
    __table_args__ = (UniqueConstraint("user_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url of the authenticator's credential id (at most 1023 bytes by the spec).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key as registered
    # The authenticator's signature counter (32 bits, unsigned); 0 forever for many passkeys.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    label: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PasskeyChallenge(Base):
    """A WebAuthn challenge the server issued: for one user and one purpose, answered once (the
    row is deleted by the first answer) and only until it expires."""

    __tablename__ = "passkey_challenges"

    # The ceremony's handle, kept in the server-side page state; the browser never sees it.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "register" or "authenticate"
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SignInAddress(Base):
    """Failed sign-ins per client address in the current window, across every account."""

    __tablename__ = "sign_in_addresses"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdentityEpoch(Base):
    """One row whose value grows, in the same transaction, with every change that can take a
    right away from a token's principal (a revoked token, a removed role or membership). Each
    API process caches verified tokens only while the value it saw is still the value here, so a
    revocation committed anywhere is honoured by every process on its very next request."""

    __tablename__ = "identity_epoch"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
