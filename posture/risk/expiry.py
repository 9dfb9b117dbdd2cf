"""When an acceptance or an exception runs past its day, the owner is told once: the decision is
marked alerted, an acceptance's scenario is open again, and one alert goes to the owner. Run
daily by the worker; a second run the same day finds nothing left to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.audit import SYSTEM, hold_append_lock, record
from posture.monitoring.alerts import raise_decision_alert
from posture.monitoring.changes import ACCEPTANCE_EXPIRED, EXCEPTION_EXPIRED
from posture.risk.acceptance_state import acceptance_counts, current_acceptance
from posture.risk.exceptions import exception_counts
from posture.storage.locks import hold_exclusive
from posture.storage.models import OutcomeException, RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus


@dataclass
class ExpiryResult:
    acceptances: list[int] = field(default_factory=list)
    exceptions: list[int] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)
    # Scenarios put back to open because the acceptance that carried them expired.
    reopened: list[int] = field(default_factory=list)


def _expire_acceptance(
    session: Session, acceptance: RiskAcceptance, today: date, result: ExpiryResult
) -> None:
    hold_exclusive(session, f"risk-scenario:{acceptance.scenario_id}")
    session.refresh(acceptance)
    if acceptance_counts(acceptance, today) or acceptance.expiry_alerted_at is not None:
        return  # revoked, renewed or alerted while this run waited
    scenario = session.get(RiskScenario, acceptance.scenario_id)
    assert scenario is not None  # a foreign key with cascade
    acceptance.expiry_alerted_at = utcnow()
    session.flush()
    # A newer acceptance that still counts keeps carrying the risk.
    if (
        scenario.status is RiskStatus.ACCEPTED
        and current_acceptance(session, scenario.id, today) is None
    ):
        scenario.status = RiskStatus.OPEN
        result.reopened.append(scenario.id)
    expires_on = acceptance.expires_on.isoformat()
    record(
        session,
        SYSTEM,
        "risk.acceptance_expired",
        "risk_acceptance",
        acceptance.id,
        {
            "acceptance_id": acceptance.id,
            "scenario_id": scenario.id,
            "expires_on": expires_on,
            "expired": today.isoformat(),
            "status": scenario.status.value,
        },
        organisation_id=scenario.organisation_id,
    )
    alert = raise_decision_alert(
        session,
        SYSTEM,
        ACCEPTANCE_EXPIRED,
        scenario.organisation_id,
        scenario.product_id,
        {"scenario_id": scenario.id, "acceptance_id": acceptance.id, "expires_on": expires_on},
    )
    result.acceptances.append(acceptance.id)
    result.alerts.append(alert.id)


def _expire_exception(
    session: Session, exception: OutcomeException, today: date, result: ExpiryResult
) -> None:
    exception.expiry_alerted_at = utcnow()
    expires_on = exception.expires_on.isoformat()
    record(
        session,
        SYSTEM,
        "risk.exception_expired",
        "outcome_exception",
        exception.id,
        {
            "exception_id": exception.id,
            "product_id": exception.product_id,
            "outcome_id": exception.outcome_id,
            "framework_id": exception.framework_id,
            "expires_on": expires_on,
            "expired": today.isoformat(),
        },
        organisation_id=exception.organisation_id,
    )
    alert = raise_decision_alert(
        session,
        SYSTEM,
        EXCEPTION_EXPIRED,
        exception.organisation_id,
        exception.product_id,
        {
            "exception_id": exception.id,
            "product_id": exception.product_id,
            "outcome_id": exception.outcome_id,
            "expires_on": expires_on,
        },
    )
    result.exceptions.append(exception.id)
    result.alerts.append(alert.id)


def expire_decisions(session: Session, today: date) -> ExpiryResult:
    """Alert once on every acceptance and exception whose day has passed; unrevoked ones only
    (a revoked decision was ended on purpose, and its revocation is audited)."""
    # The audit lock first, as every register change takes it: two runs at once then take
    # turns, and the second reads the first's marks.
    hold_append_lock(session)
    result = ExpiryResult()
    acceptances = session.scalars(
        select(RiskAcceptance)
        .where(
            RiskAcceptance.expires_on < today,
            RiskAcceptance.revoked_at.is_(None),
            RiskAcceptance.expiry_alerted_at.is_(None),
        )
        .order_by(RiskAcceptance.id)
    ).all()
    for acceptance in acceptances:
        _expire_acceptance(session, acceptance, today, result)
    exceptions = session.scalars(
        select(OutcomeException)
        .where(
            OutcomeException.expires_on < today,
            OutcomeException.revoked_at.is_(None),
            OutcomeException.expiry_alerted_at.is_(None),
        )
        .order_by(OutcomeException.id)
    ).all()
    for exception in exceptions:
        if not exception_counts(exception, today):
            _expire_exception(session, exception, today, result)
    return result
