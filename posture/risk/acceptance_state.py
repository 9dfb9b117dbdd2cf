"""Whether a scenario's acceptance still carries it: the one statement of the rule, and the end
of an acceptance the scenario has outgrown (re-rated above the level that was accepted)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.risk.matrix import RiskLevel, UnknownRiskId
from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.storage.models import RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus


def acceptance_counts(acceptance: RiskAcceptance, today: date) -> bool:
    """Whether an acceptance still carries the risk on `today`: not revoked, and its last day
    not yet past. The one statement of the rule; everything else asks here."""
    return acceptance.revoked_at is None and acceptance.expires_on >= today


def acceptances_in_force(session: Session, scenario_id: int, today: date) -> list[RiskAcceptance]:
    """Every acceptance of the scenario that still counts on `today`, oldest first."""
    acceptances = session.scalars(
        select(RiskAcceptance)
        .where(RiskAcceptance.scenario_id == scenario_id)
        .order_by(RiskAcceptance.id)
    )
    return [a for a in acceptances if acceptance_counts(a, today)]


def current_acceptance(session: Session, scenario_id: int, today: date) -> RiskAcceptance | None:
    """The newest acceptance of the scenario that still counts on `today`."""
    acceptances = session.scalars(
        select(RiskAcceptance)
        .where(RiskAcceptance.scenario_id == scenario_id)
        .order_by(RiskAcceptance.id.desc())
    )
    return next((a for a in acceptances if acceptance_counts(a, today)), None)


def residual_level_of(scenario: RiskScenario) -> RiskLevel:
    """The level being accepted: the residual once rated, else the current rating."""
    policy = risk_policy()
    if scenario.matrix_version != policy.version:
        raise ValidationFailed(
            f"scenario: rated on matrix {scenario.matrix_version}, not {policy.version}; "
            "re-rate it first"
        )
    rated = (scenario.residual_likelihood, scenario.residual_impact)
    likelihood, impact = (
        rated if None not in rated else (scenario.current_likelihood, scenario.current_impact)
    )
    try:
        return policy.matrix.level_of(str(likelihood), str(impact))
    except UnknownRiskId as exc:
        raise ValidationFailed(f"scenario: {exc}; re-rate it first") from None


def end_outgrown_acceptance(
    session: Session, actor: Actor, scenario: RiskScenario, today: date
) -> RiskAcceptance | None:
    """End the acceptance that counts when the scenario's level has risen above the level that
    was accepted: a SIRO accepted that risk, not this one. The scenario is open again."""
    accepted = current_acceptance(session, scenario.id, today)
    if accepted is None:
        return None
    matrix = risk_policy().matrix
    level = residual_level_of(scenario)
    if matrix.rank(level.id) <= matrix.rank(accepted.residual_level):
        return None
    accepted.revoked_at = utcnow()
    if scenario.status is not RiskStatus.CLOSED:
        scenario.status = RiskStatus.OPEN
    record(
        session,
        actor,
        "risk.acceptance_ended",
        "risk_acceptance",
        accepted.id,
        {
            "acceptance_id": accepted.id,
            "scenario_id": scenario.id,
            "from": accepted.residual_level,
            "residual_level": level.id,
            "because": "re-rated above the level that was accepted",
        },
        organisation_id=scenario.organisation_id,
    )
    return accepted
