"""The daily sweeps over tracked findings, for the schedule to call: one alert per finding the
first time it passes its due date, and findings whose risk acceptance has ended counted open
again. Each claims its rows with one conditional update, so running twice, or twice at once,
acts once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from posture.audit import SYSTEM, record
from posture.findings.views import counts_open
from posture.monitoring.alerts import raise_decision_alert
from posture.storage.models import Alert, RiskAcceptance, TrackedFinding
from posture.storage.models.finding_lifecycle import FindingStatus

SLA_BREACHED = "FINDING-SLA-BREACHED"


def sla_breaches_due(session: Session, now: datetime) -> list[Alert]:
    """Raise one alert (to the supplier) for each finding counting as open whose due date has
    passed and that has not had its alert for that due date yet."""
    claimed = session.execute(
        update(TrackedFinding)
        .where(
            counts_open(now.date()),
            TrackedFinding.due_at < now,
            TrackedFinding.breach_alerted_at.is_(None),
        )
        .values(breach_alerted_at=now)
        .returning(
            TrackedFinding.id,
            TrackedFinding.organisation_id,
            TrackedFinding.product_id,
            TrackedFinding.code,
            TrackedFinding.severity,
            TrackedFinding.due_at,
        )
        .execution_options(synchronize_session=False)
    ).all()
    alerts = []
    for finding_id, organisation_id, product_id, code, severity, due_at in sorted(claimed):
        alerts.append(
            raise_decision_alert(
                session,
                SYSTEM,
                SLA_BREACHED,
                organisation_id,
                product_id,
                {
                    "finding_id": finding_id,
                    "code": code,
                    "severity": str(severity),
                    "due_at": due_at.isoformat(),
                },
            )
        )
    return alerts


def reopen_ended_acceptances(session: Session, today: date) -> list[int]:
    """Findings accepted under an acceptance that has expired (its last day before `today`) or
    was revoked: open again. Returns their ids."""
    holds = exists().where(
        RiskAcceptance.id == TrackedFinding.acceptance_id,
        RiskAcceptance.revoked_at.is_(None),
        RiskAcceptance.expires_on >= today,
    )
    reopened = sorted(
        session.scalars(
            update(TrackedFinding)
            .where(and_(TrackedFinding.status == FindingStatus.RISK_ACCEPTED, ~holds))
            .values(status=FindingStatus.OPEN, version=TrackedFinding.version + 1)
            .returning(TrackedFinding.id)
            .execution_options(synchronize_session=False)
        )
    )
    if reopened:
        organisations = session.execute(
            select(TrackedFinding.organisation_id, TrackedFinding.id).where(
                TrackedFinding.id.in_(reopened)
            )
        ).all()
        by_organisation: dict[int, list[int]] = {}
        for organisation_id, finding_id in organisations:
            by_organisation.setdefault(organisation_id, []).append(finding_id)
        for organisation_id, ids in sorted(by_organisation.items()):
            record(
                session,
                SYSTEM,
                "finding.acceptance_ended",
                "organisation",
                organisation_id,
                {"ids": sorted(ids), "to": FindingStatus.OPEN},
                organisation_id=organisation_id,
            )
    return reopened
