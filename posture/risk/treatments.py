"""How a scenario's owner treats it: treatments (accept, mitigate, transfer, avoid), the actions
that carry out a mitigation, the residual rating once the treatment has taken effect, and closing
a scenario whose activity was avoided. Every change holds the scenario's lock, so concurrent
changes to one scenario take turns, and is audited in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.loader import default_framework, shipped_catalogue
from frameworks.risk.matrix import UnknownRiskId
from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.identity.scoped import load_visible
from posture.plain_text import Name
from posture.risk.acceptance_state import end_outgrown_acceptance
from posture.risk.forms import Description, RiskForm, Title
from posture.storage.locks import hold_exclusive
from posture.storage.models import RiskAction, RiskScenario, RiskTreatment
from posture.storage.models.enums import ActionStatus, RiskStatus, TreatmentKind

# Treatments that change the risk without actions the platform can track: the residual may be
# rated as soon as one is recorded.
SETTLED_BY_DECISION = frozenset({TreatmentKind.TRANSFER, TreatmentKind.AVOID, TreatmentKind.ACCEPT})
MAX_ADDRESSES = 50
# A due day outside these years is a typing mistake, not a plan.
EARLIEST_DUE, LATEST_DUE = date(2000, 1, 1), date(2100, 12, 31)


class TreatmentForm(RiskForm):
    kind: TreatmentKind
    description: Description


class ActionForm(RiskForm):
    title: Title
    owner: Name
    due_on: date
    addresses: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_ADDRESSES
    )


def locked_scenario(
    session: Session, principal: Principal, scenario_id: int, permission: str
) -> RiskScenario:
    """The scenario, refused as not found outside the principal's reach, with the audit lock and
    then its own lock held until the transaction ends (always in that order)."""
    scenario = load_visible(session, RiskScenario, scenario_id, principal, permission, "scenario")
    hold_append_lock(session)
    hold_exclusive(session, f"risk-scenario:{scenario.id}")
    session.refresh(scenario)  # read again under the lock: another change may have just landed
    return scenario


def open_scenario(
    session: Session, principal: Principal, scenario_id: int, permission: str
) -> RiskScenario:
    scenario = locked_scenario(session, principal, scenario_id, permission)
    if scenario.status is RiskStatus.CLOSED:
        raise ValidationFailed("scenario: it is closed; raise a new scenario if the risk returns")
    return scenario


def add_treatment(
    session: Session, principal: Principal, scenario_id: int, form: TreatmentForm
) -> RiskTreatment:
    scenario = open_scenario(session, principal, scenario_id, "risk.write")
    treatment = RiskTreatment(
        scenario_id=scenario.id,
        kind=form.kind,
        description=form.description,
        created_by_user_id=principal.user_id,
    )
    session.add(treatment)
    # Choosing to accept is not yet an acceptance: only the SIRO's decision moves the status.
    if form.kind is not TreatmentKind.ACCEPT and scenario.status is not RiskStatus.ACCEPTED:
        scenario.status = RiskStatus.TREATING
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.treatment_added",
        "risk_treatment",
        treatment.id,
        {
            "scenario_id": scenario.id,
            "treatment_id": treatment.id,
            "kind": form.kind.value,
            "status": scenario.status.value,
            "text": form.description,
        },
        organisation_id=scenario.organisation_id,
    )
    return treatment


def _check_addresses(addresses: list[str]) -> list[str]:
    outcomes = {outcome.id for outcome in default_framework().framework.outcomes()}
    findings = shipped_catalogue().findings
    unknown = [ref for ref in addresses if ref not in outcomes and ref not in findings]
    if unknown:
        shown = ", ".join(repr(ref[:64]) for ref in unknown[:5])
        raise ValidationFailed(
            f"addresses: {shown} is neither an outcome of the default framework nor a finding "
            "code of the check catalogue"
        )
    return list(dict.fromkeys(addresses))


def _treatment_of(session: Session, principal: Principal, treatment_id: int) -> RiskTreatment:
    # A role without the permission is told so whether or not the record exists.
    visible_organisations(principal, "risk.write")
    treatment = session.get(RiskTreatment, treatment_id)
    if treatment is None:
        raise NotFound("treatment not found")
    return treatment


def add_action(
    session: Session, principal: Principal, treatment_id: int, form: ActionForm
) -> RiskAction:
    treatment = _treatment_of(session, principal, treatment_id)
    scenario = open_scenario(session, principal, treatment.scenario_id, "risk.write")
    if treatment.kind is TreatmentKind.ACCEPT:
        raise ValidationFailed("treatment: an acceptance is decided by the SIRO, not actioned")
    if not EARLIEST_DUE <= form.due_on <= LATEST_DUE:
        raise ValidationFailed(
            f"due_on: {form.due_on.isoformat()} is not a plausible day "
            f"({EARLIEST_DUE.year} to {LATEST_DUE.year})"
        )
    addresses = _check_addresses(form.addresses)
    action = RiskAction(
        treatment_id=treatment.id,
        title=form.title,
        owner=form.owner,
        due_on=form.due_on,
        status=ActionStatus.PLANNED,
        addresses=addresses,
    )
    session.add(action)
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.action_added",
        "risk_action",
        action.id,
        {
            "scenario_id": scenario.id,
            "treatment_id": treatment.id,
            "action_id": action.id,
            "due_on": form.due_on.isoformat(),
            "addresses": addresses,
            "title": form.title,
            "owner": form.owner,
        },
        organisation_id=scenario.organisation_id,
    )
    return action


def set_action_status(
    session: Session, principal: Principal, action_id: int, status: ActionStatus, today: date
) -> RiskAction:
    """Move an action on. Done stamps when; a done action may be reopened as in progress (the
    fix did not hold) but never goes back to planned, which would erase that work began."""
    visible_organisations(principal, "risk.write")
    try:
        status = ActionStatus(status)
    except ValueError:
        known = ", ".join(member.value for member in ActionStatus)
        raise ValidationFailed(f"status: {str(status)[:40]!r} is not one of {known}") from None
    action = session.get(RiskAction, action_id)
    if action is None:
        raise NotFound("action not found")
    treatment = session.get(RiskTreatment, action.treatment_id)
    assert treatment is not None  # a foreign key with cascade
    scenario = open_scenario(session, principal, treatment.scenario_id, "risk.write")
    session.refresh(action)
    before = action.status
    if before is ActionStatus.DONE and status is ActionStatus.PLANNED:
        raise ValidationFailed("status: a done action cannot go back to planned")
    if before is status:
        return action
    action.status = status
    action.done_at = utcnow() if status is ActionStatus.DONE else None
    data: dict[str, object] = {
        "scenario_id": scenario.id,
        "action_id": action.id,
        "from": before.value,
        "to": status.value,
        "due_on": action.due_on.isoformat(),
    }
    if status is ActionStatus.DONE and today > action.due_on:
        data["because"] = "done after its due day"
    record(
        session,
        actor_of(principal),
        "risk.action_status",
        "risk_action",
        action.id,
        data,
        organisation_id=scenario.organisation_id,
    )
    return action


def _treatments(session: Session, scenario_id: int) -> list[RiskTreatment]:
    return list(
        session.scalars(
            select(RiskTreatment)
            .where(RiskTreatment.scenario_id == scenario_id)
            .order_by(RiskTreatment.id)
        )
    )


def treatments_and_actions(
    session: Session, scenario_id: int
) -> tuple[list[RiskTreatment], list[RiskAction]]:
    """A scenario's treatments and all their actions, each oldest first, in two queries. The
    caller has already been shown the scenario (get_scenario checks reach)."""
    treatments = _treatments(session, scenario_id)
    actions = list(
        session.scalars(
            select(RiskAction)
            .where(RiskAction.treatment_id.in_([t.id for t in treatments]))
            .order_by(RiskAction.id)
        )
    )
    return treatments, actions


def residual_blocker(session: Session, scenario_id: int) -> str | None:
    """Why the residual cannot be rated yet, or None when it can."""
    treatments = _treatments(session, scenario_id)
    if any(t.kind in SETTLED_BY_DECISION for t in treatments):
        return None
    mitigations = [t.id for t in treatments if t.kind is TreatmentKind.MITIGATE]
    if not mitigations:
        return "record a treatment first: the residual is what remains after it"
    statuses = session.scalars(
        select(RiskAction.status).where(RiskAction.treatment_id.in_(mitigations))
    ).all()
    if not statuses:
        return "a mitigation without actions has changed nothing yet; add its actions"
    open_count = sum(1 for status in statuses if status is not ActionStatus.DONE)
    if open_count:
        return f"{open_count} mitigation action(s) are not done yet"
    return None


def record_residual(
    session: Session, principal: Principal, scenario_id: int, likelihood: str, impact: str
) -> RiskScenario:
    scenario = open_scenario(session, principal, scenario_id, "risk.write")
    policy = risk_policy()
    if scenario.matrix_version != policy.version:
        raise ValidationFailed(
            f"scenario: rated on matrix {scenario.matrix_version}, not {policy.version}; "
            "re-rate it first"
        )
    try:
        level = policy.matrix.level_of(likelihood, impact)
    except UnknownRiskId as exc:
        raise ValidationFailed(f"residual: {exc}") from None
    blocker = residual_blocker(session, scenario.id)
    if blocker is not None:
        raise ValidationFailed(f"residual: {blocker}")
    scenario.residual_likelihood, scenario.residual_impact = likelihood, impact
    end_outgrown_acceptance(session, actor_of(principal), scenario, utcnow().date())
    record(
        session,
        actor_of(principal),
        "risk.residual_recorded",
        "risk_scenario",
        scenario.id,
        {
            "scenario_id": scenario.id,
            "likelihood": likelihood,
            "impact": impact,
            "residual_level": level.id,
            "matrix_version": policy.version,
        },
        organisation_id=scenario.organisation_id,
    )
    return scenario


def close_scenario(session: Session, principal: Principal, scenario_id: int) -> RiskScenario:
    """Close a scenario whose activity is avoided: the risk no longer exists to be carried."""
    scenario = open_scenario(session, principal, scenario_id, "risk.write")
    if not any(t.kind is TreatmentKind.AVOID for t in _treatments(session, scenario.id)):
        raise ValidationFailed(
            "scenario: only a scenario treated by avoiding the activity closes; an accepted or "
            "mitigated risk stays in the register"
        )
    before = scenario.status
    scenario.status = RiskStatus.CLOSED
    record(
        session,
        actor_of(principal),
        "risk.closed",
        "risk_scenario",
        scenario.id,
        {"scenario_id": scenario.id, "from": before.value, "to": RiskStatus.CLOSED.value},
        organisation_id=scenario.organisation_id,
    )
    return scenario
