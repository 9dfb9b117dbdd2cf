"""Server-side sessions: opaque tokens; their hashes and clocks live in the database.

A session has the token the page holds (in Streamlit's server-side state) and, once the page has
handed it over, a second token the browser keeps in an HttpOnly cookie, so a refresh (a new
Streamlit session) resumes it. The page never sees the browser token: it gets a one-time code
(HANDOFF_SECONDS to live) which its own origin redeems, and the cookie is set on that answer.
Either token resumes the same row, so closing it ends both."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.audit import Actor, record
from posture.identity.accounts import principal_for
from posture.identity.mfa import method_has_second_factor, mfa_required
from posture.identity.permissions import PermissionDenied, Principal
from posture.identity.policy import identity_policy
from posture.storage.models import User, UserSession

HANDOFF_SECONDS = 60


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _row(session: Session, token: str) -> UserSession | None:
    digest = _digest(token)
    return session.scalar(
        select(UserSession).where(
            or_(UserSession.token_sha256 == digest, UserSession.browser_token_sha256 == digest)
        )
    )


def issue_handoff(session: Session, token: str, now: datetime | None = None) -> str | None:
    """A one-time code the page's browser redeems for the session's cookie; None if the session
    is not live or its browser token was handed over already (one browser per sign-in)."""
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.browser_token_sha256 is not None:
        return None
    code = secrets.token_urlsafe(32)
    row.handoff_sha256 = _digest(code)
    row.handoff_expires_at = now + timedelta(seconds=HANDOFF_SECONDS)
    return code


def handoff_pending(session: Session, token: str, now: datetime | None = None) -> bool:
    """Whether the session behind the page's `token` still waits for its browser to redeem
    the handoff code (issued, not spent, not expired)."""
    now = now or utcnow()
    expires = session.scalar(
        select(UserSession.handoff_expires_at).where(UserSession.token_sha256 == _digest(token))
    )
    return expires is not None and expires > now


def redeem_handoff(
    session: Session, code: str, now: datetime | None = None
) -> tuple[str, datetime] | None:
    """The browser token for a live session whose code this is, and when the session ends at
    the latest; the code is spent whether or not it was still good. One conditional update, so
    of twenty redemptions at once exactly one is granted."""
    now = now or utcnow()
    if not code or len(code) > 128:
        return None
    digest = _digest(code)
    browser_token = secrets.token_urlsafe(32)
    granted = session.execute(
        update(UserSession)
        .where(
            UserSession.handoff_sha256 == digest,
            UserSession.handoff_expires_at > now,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.browser_token_sha256.is_(None),
        )
        .values(
            handoff_sha256=None,
            handoff_expires_at=None,
            browser_token_sha256=_digest(browser_token),
        )
        .returning(UserSession.id, UserSession.user_id, UserSession.expires_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if granted is None:
        session.execute(
            update(UserSession)
            .where(UserSession.handoff_sha256 == digest)
            .values(handoff_sha256=None, handoff_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return None
    row_id, user_id, expires_at = granted
    user = session.get(User, user_id)
    actor = Actor(label=user.email if user else "unknown", user_id=user_id)
    record(session, actor, "auth.browser_session", "user_session", row_id)
    return browser_token, expires_at


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
    """The principal behind a live session (by either of its tokens), or None if it is unknown,
    revoked, idle or expired."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return None
    row = _row(session, token)
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
    row = _row(session, token)
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
