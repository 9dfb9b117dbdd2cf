"""Server-side sessions: an opaque browser token; its hash and clocks live in the database."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.audit import Actor, record
from posture.identity.accounts import principal_for
from posture.identity.mfa import method_has_second_factor, mfa_required
from posture.identity.permissions import PermissionDenied, Principal
from posture.identity.policy import identity_policy
from posture.storage.models import User, UserSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    session: Session, principal: Principal, method: str = "password", now: datetime | None = None
) -> str:
    """Open a session for someone fully signed in. Refused when their roles need a second factor
    and `method` does not include one: the page cannot open a session the policy forbids."""
    now = now or utcnow()
    if mfa_required(principal.roles()) and not method_has_second_factor(method):
        raise PermissionDenied("your role needs two-step verification to sign in")
    token = secrets.token_urlsafe(32)
    policy = identity_policy()
    session.add(
        UserSession(
            token_sha256=_digest(token),
            user_id=principal.user_id,
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=policy.session_absolute_hours),
        )
    )
    return token


def resume_session(session: Session, token: str, now: datetime | None = None) -> Principal | None:
    """The principal behind a live session, or None if it is unknown, revoked, idle or expired."""
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    idle_limit = timedelta(minutes=identity_policy().session_idle_minutes)
    if now - row.last_seen_at > idle_limit:
        row.revoked_at = now
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    principal = principal_for(session, user)
    if mfa_required(principal.roles()) and not method_has_second_factor(row.method):
        # A role that needs a second factor was granted after this session opened.
        row.revoked_at = now
        return None
    row.last_seen_at = now
    return principal


def close_session(session: Session, token: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now
    user = session.get(User, row.user_id)
    record(
        session,
        Actor(label=user.email if user else "unknown", user_id=row.user_id),
        "auth.logout",
        "user_session",
        row.id,
    )


def revoke_all_sessions(session: Session, actor: Actor, user_id: int) -> int:
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    record(session, actor, "auth.sessions_revoked", "user", user_id)
    return int(result.rowcount or 0)
