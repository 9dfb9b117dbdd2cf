"""Reading the audit trail: for those whose role allows it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal, visible_organisations
from posture.storage.models import AuditEvent


def recent_events(session: Session, principal: Principal, limit: int = 200) -> list[AuditEvent]:
    scope = visible_organisations(principal, "audit.read")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 5000)))
    if scope is not None:
        query = query.where(AuditEvent.organisation_id.in_(scope))
    return list(session.scalars(query))
