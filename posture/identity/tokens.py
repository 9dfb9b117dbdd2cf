"""API tokens for partners: EdDSA-signed JWTs (PyJWT), short-lived, scoped, revocable by jti.

Verification pins the algorithm to EdDSA, so `alg: none`, HMAC tokens keyed with the public key
and any other algorithm are refused before the signature is considered.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.data_dir import keys_folder
from kernel.errors import AssureError, ValidationFailed
from kernel.files import create_once
from kernel.settings import Settings
from posture.audit import Actor, record
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal, permission_table, require
from posture.identity.policy import identity_policy
from posture.identity.token_cache import (
    TokenCache,
    VerifiedToken,
    bump_identity_epoch,
    current_epoch,
    token_digest,
)
from posture.storage.engine import transaction
from posture.storage.models import ApiToken, User

LOG = logging.getLogger(__name__)
ALGORITHM = "EdDSA"
KEY_FILE = "api-token-ed25519.pem"


class TokenRejected(AssureError):
    """The bearer token cannot be used; the reason is for logs, clients get a generic 401."""


def known_scopes() -> set[str]:
    return {rule.token_scope for rule in permission_table().permissions.values()}


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    kid: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def signing_key(settings: Settings) -> SigningKey:
    """The server's signing key, created on first use in the data directory with mode 0600."""
    folder = keys_folder(settings)
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / KEY_FILE
    create_once(
        path,
        lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    private = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise AssureError(f"{path} does not hold an Ed25519 key")
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey(private=private, kid=raw.hex()[:16])


def issue_token(
    session: Session,
    issuer: Principal | None,
    key: SigningKey,
    user: User,
    scopes: list[str],
    minutes: int | None = None,
    description: str = "",
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Sign a token for `user`. `issuer` None means the trusted operator CLI."""
    policy = identity_policy()
    minutes = minutes or policy.api_token_default_minutes
    if not 1 <= minutes <= policy.api_token_max_minutes:
        raise ValidationFailed(
            f"token lifetime must be 1 to {policy.api_token_max_minutes} minutes"
        )
    unknown = set(scopes) - known_scopes()
    if unknown or not scopes:
        raise ValidationFailed(
            f"unknown or missing scopes {sorted(unknown)}; "
            f"known: {', '.join(sorted(known_scopes()))}"
        )
    target = principal_for(session, user)
    if issuer is not None:
        for organisation_id in target.organisation_ids():
            require(issuer, "token.issue", organisation_id, "user")
    now = now or utcnow()
    row = ApiToken(
        jti=secrets.token_hex(16),
        user_id=user.id,
        scopes=sorted(set(scopes)),
        description=description[:200],
        issued_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(row)
    claims = {
        "iss": policy.api_token_issuer,
        "aud": policy.api_token_audience,
        "sub": str(user.id),
        "scope": " ".join(row.scopes),
        "jti": row.jti,
        "iat": now,
        "nbf": now,
        "exp": row.expires_at,
    }
    token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
    actor = Actor("cli") if issuer is None else Actor(issuer.email, issuer.user_id)
    record(
        session,
        actor,
        "token.issued",
        "api_token",
        row.jti,
        {"user_id": user.id, "scopes": row.scopes, "expires_at": row.expires_at.isoformat()},
    )
    return token, row


def verify_token(
    session: Session, key: SigningKey, token: str, now: datetime | None = None
) -> Principal:
    """Verify in full: signature, claims, the stored token, its user and their memberships."""
    return _verified(session, key, token, now or utcnow(), epoch=0).principal


def check_token(
    session: Session,
    key: SigningKey,
    token: str,
    cache: TokenCache,
    now: datetime | None = None,
    known: VerifiedToken | None = None,
) -> VerifiedToken:
    """`verify_token` through the cache: while the identity epoch is unchanged and the token
    unexpired, one primary-key read. `known` is this request's earlier check of the same token."""
    now = now or utcnow()
    if not cache.enabled:
        cache.count_verification()
        return _verified(session, key, token, now, epoch=0)
    # Read before verifying: a change committed after this read bumps the epoch past the value
    # remembered with the verification, so the cached entry is refused next time.
    epoch = current_epoch(session)
    digest = token_digest(token)
    if known is not None and known.digest == digest and known.usable(epoch, now.timestamp()):
        return known
    hit = cache.get(digest, epoch, now.timestamp())
    if hit is not None:
        return hit
    cache.count_verification()
    verified = _verified(session, key, token, now, epoch)
    cache.put(verified)
    return verified


def _verified(
    session: Session, key: SigningKey, token: str, now: datetime, epoch: int
) -> VerifiedToken:
    policy = identity_policy()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenRejected(f"algorithm {header.get('alg')!r} is not accepted")
    try:
        claims = jwt.decode(
            token,
            key.public,
            algorithms=[ALGORITHM],
            audience=policy.api_token_audience,
            issuer=policy.api_token_issuer,
            # Time claims are checked below against an injectable clock.
            options={
                "require": ["exp", "iat", "nbf", "jti", "sub", "aud", "iss"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"token refused: {exc}") from exc
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now.timestamp():
        raise TokenRejected("token has expired")
    if not isinstance(claims["nbf"], int | float) or claims["nbf"] > now.timestamp():
        raise TokenRejected("token is not valid yet")
    row = session.get(ApiToken, claims["jti"])
    if row is None or str(row.user_id) != claims["sub"]:
        raise TokenRejected("unknown token id")
    if row.revoked_at is not None:
        raise TokenRejected("token has been revoked")
    if row.expires_at <= now:
        raise TokenRejected("token has expired")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise TokenRejected("token user is inactive")
    base = principal_for(session, user)
    principal = Principal(
        base.user_id, base.email, base.memberships, token_scopes=frozenset(row.scopes)
    )
    return VerifiedToken(
        digest=token_digest(token),
        principal=principal,
        jti=row.jti,
        user_id=user.id,
        expires_at=min(float(claims["exp"]), row.expires_at.timestamp()),
        epoch=epoch,
    )


# How finely "last used" is kept. The API verifies a token on every request (from the cache,
# mostly without touching the database); writing the time each time would turn every read into
# a write and serialise a busy client's requests on one row. To the minute is what a person
# reviewing tokens needs: is it in use, and was it used after it should have stopped.
USE_RESOLUTION = timedelta(minutes=1)


def note_use(
    sessions: sessionmaker[Session], verified: VerifiedToken, cache: TokenCache, now: datetime
) -> None:
    """Record that the API accepted `verified` now, at most once a minute per token: this
    process asks only once a minute (the cache remembers), and the conditional update writes
    nothing when another process noted it within the minute. Its own short transaction, the
    update its first statement, so it never upgrades a request's read to a write. Best effort:
    a busy database must not fail the request for the sake of this time, so errors are logged."""
    if not cache.use_due(verified.jti, now.timestamp(), USE_RESOLUTION.total_seconds()):
        return
    try:
        with transaction(sessions) as session:
            session.execute(
                update(ApiToken)
                .where(
                    ApiToken.jti == verified.jti,
                    or_(
                        ApiToken.last_used_at.is_(None),
                        ApiToken.last_used_at <= now - USE_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    except SQLAlchemyError:
        LOG.warning("could not note the use of API token %s", verified.jti, exc_info=True)


def revoke_token(session: Session, actor: Actor, jti: str) -> None:
    row = session.get(ApiToken, jti)
    if row is None:
        raise ValidationFailed(f"no token {jti}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        bump_identity_epoch(session)
        record(session, actor, "token.revoked", "api_token", jti)
