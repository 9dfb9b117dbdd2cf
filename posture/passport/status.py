"""A passport's status by decision: suspended or revoked (by the platform when what it states no
longer holds, or by a national assessor), reinstated, or superseded by a newer one. Every change
is audited; a suspension or revocation alerts the supplier, and every force that deploys the
product (those relying on the passport among them) gets a copy in its inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.monitoring.alerts import raise_decision_alert
from posture.monitoring.changes import PASSPORT_REVOKED, PASSPORT_SUSPENDED
from posture.passport.document import EXPIRED, VALID
from posture.portfolio.blast_radius import relay_to_deployers
from posture.storage.models import Passport
from posture.storage.models.enums import PassportStatus

# Statuses a passport may still be valid or become valid again in.
LIVE = (PassportStatus.ISSUED, PassportStatus.SUSPENDED)

# Why a status changed: the code stored and published in the revocation list, and its words.
REASONS: dict[str, str] = {
    "contradicted": "monitoring contradicted a check run the passport cites",
    "critical_finding": "a critical finding opened on the product",
    "exception_expired": "an exception the passport states as in force has expired",
    "exception_revoked": "an exception the passport states as in force was revoked",
    "assessor": "a national assessor's decision",
    "superseded": "a newer passport was issued for the product",
}

_MOVES: dict[PassportStatus, tuple[PassportStatus, ...]] = {
    PassportStatus.ISSUED: (
        PassportStatus.SUSPENDED,
        PassportStatus.REVOKED,
        PassportStatus.SUPERSEDED,
    ),
    PassportStatus.SUSPENDED: (
        PassportStatus.ISSUED,
        PassportStatus.REVOKED,
        PassportStatus.SUPERSEDED,
    ),
    PassportStatus.REVOKED: (),
    PassportStatus.SUPERSEDED: (),
}

_ALERTS = {PassportStatus.SUSPENDED: PASSPORT_SUSPENDED, PassportStatus.REVOKED: PASSPORT_REVOKED}
_ACTIONS = {
    PassportStatus.ISSUED: "passport.reinstated",
    PassportStatus.SUSPENDED: "passport.suspended",
    PassportStatus.REVOKED: "passport.revoked",
    PassportStatus.SUPERSEDED: "passport.superseded",
}


def standing(status: PassportStatus | str, expires_at: datetime, now: datetime) -> str:
    """valid, expired, or the status that ended the passport."""
    if PassportStatus(status) != PassportStatus.ISSUED:
        return PassportStatus(status).value
    return EXPIRED if now >= expires_at else VALID


class StatusRefused(ValidationFailed):
    """The passport cannot move to that status from where it stands; nothing was changed."""


def lock_passport(session: Session, passport_id: int) -> Passport:
    """The passport, re-read under a row lock (PostgreSQL) so two decisions apply in turn."""
    passport = session.scalar(
        select(Passport)
        .where(Passport.id == passport_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if passport is None:
        raise ValidationFailed(f"no passport {passport_id}")
    return passport


def change_status(
    session: Session,
    actor: Actor,
    passport: Passport,
    status: PassportStatus,
    reason: str,
    detail: dict[str, Any],
    when: datetime | None = None,
) -> bool:
    """Move the passport to `status`; False (and nothing written) when it already stands there.
    The write is conditional on the status read, so a concurrent change is never overwritten."""
    if reason not in REASONS:
        raise ValueError(f"unknown passport status reason {reason!r}")
    current = PassportStatus(passport.status)
    if current == status:
        return False
    if status not in _MOVES[current]:
        raise StatusRefused(
            f"passport {passport.number} is {current.value}; it cannot be {status.value}"
        )
    moment = when or utcnow()
    written = session.execute(
        update(Passport)
        .where(Passport.id == passport.id, Passport.status == current)
        .values(status=status, status_reason=reason, status_detail=detail, status_changed_at=moment)
        .execution_options(synchronize_session=False)
    )
    if written.rowcount != 1:
        raise StatusRefused(f"passport {passport.number} changed meanwhile; reload it")
    session.refresh(passport)
    record(
        session,
        actor,
        _ACTIONS[status],
        "passport",
        passport.id,
        {
            "passport_number": passport.number,
            "product_id": passport.product_id,
            "reason_code": reason,
            "detail": detail,
        },
        organisation_id=passport.organisation_id,
    )
    code = _ALERTS.get(status)
    if code is not None:
        alert = raise_decision_alert(
            session,
            actor,
            code,
            passport.organisation_id,
            passport.product_id,
            {"passport": passport.number, "reason": REASONS[reason], **detail},
        )
        relay_to_deployers(session, [alert], actor)
    return True
