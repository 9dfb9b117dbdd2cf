"""API tokens for administrators: which exist, for whom, what they may do and when each was last
used; issuing and revoking them. A token acts for its user everywhere that user belongs, so an
organisation administrator handles only the tokens of people wholly within their organisation
(as posture.identity.tokens.issue_token requires for issuing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.accounts import actor_of
from posture.identity.people import account_in_reach
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    visible_organisations,
)
from posture.identity.tokens import SigningKey, issue_token, revoke_token
from posture.storage.models import ApiToken, Membership, User

TOKEN_ISSUE = "token.issue"  # noqa: S105 (a permission's name)
LISTED = 200


@dataclass(frozen=True)
class TokenView:
    jti: str
    user_id: int
    email: str
    scopes: tuple[str, ...]
    description: str
    issued_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    status: str  # active, expired or revoked


def _status(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "active"


def list_tokens(
    session: Session, principal: Principal, include_ended: bool = False, now: datetime | None = None
) -> list[TokenView]:
    """The newest tokens the principal may see; by default only those still usable."""
    now = now or utcnow()
    scope = visible_organisations(principal, TOKEN_ISSUE)
    query = (
        select(ApiToken, User.email)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.issued_at.desc(), ApiToken.jti)
        .limit(LISTED)
    )
    if scope is not None:
        inside = select(Membership.user_id).where(Membership.organisation_id.in_(scope))
        outside = select(Membership.user_id).where(Membership.organisation_id.not_in(scope))
        query = query.where(ApiToken.user_id.in_(inside), ApiToken.user_id.not_in(outside))
    if not include_ended:
        query = query.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    return [
        TokenView(
            jti=row.jti,
            user_id=row.user_id,
            email=email,
            scopes=tuple(row.scopes),
            description=row.description,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            status=_status(row, now),
        )
        for row, email in session.execute(query)
    ]


def issue_for(
    session: Session,
    principal: Principal,
    key: SigningKey,
    user_id: int,
    scopes: list[str],
    minutes: int | None = None,
    description: str = "",
) -> tuple[str, ApiToken]:
    """Issue the principal a token of their own; the token is returned once and never stored.
    A token acts as its user, with their roles and without their second factor, and what it does
    is recorded as theirs: an administrator issuing one for someone else could act as that
    person (a SIRO accepting a risk, say). Only the host's `assure token issue` does that, for a
    service account."""
    user = account_in_reach(session, principal, user_id, TOKEN_ISSUE)
    if user.id != principal.user_id:
        raise PermissionDenied(
            "a token acts as the person it is issued to: each person issues their own"
        )
    if minutes is not None and minutes < 1:  # issue_token reads 0 as "the default"
        raise ValidationFailed("token lifetime must be at least 1 minute")
    if not user.is_active:
        raise ValidationFailed("this account is disabled: enable it before issuing it a token")
    return issue_token(session, principal, key, user, scopes, minutes, description.strip())


def revoke_for(session: Session, principal: Principal, jti: str) -> None:
    row = session.get(ApiToken, jti.strip()[:64])
    if row is None:
        raise NotFound("token not found")
    try:
        account_in_reach(session, principal, row.user_id, TOKEN_ISSUE)
    except NotFound:
        raise NotFound("token not found") from None
    revoke_token(session, actor_of(principal), row.jti)
