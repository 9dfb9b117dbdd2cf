"""The SIRO accepts a scenario's residual risk until a day: bounded by the appetite's longest
acceptance for that level, never by someone who works for the supplier whose product carries the
risk, and recorded with whether the level is within appetite for the data the product holds.
An acceptance counts until it is revoked or its day passes (`acceptance_counts`)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import (
    NotFound,
    Principal,
    permission_table,
    visible_organisations,
)
from posture.risk.acceptance_state import (
    current_acceptance,
    residual_level_of,
)
from posture.risk.forms import Conditions, Reasons, RiskForm
from posture.risk.treatments import locked_scenario
from posture.storage.models import Membership, Product, RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus
from posture.target_profiles import facts_of

ACCEPT = "risk.accept"


class AcceptanceForm(RiskForm):
    rationale: Reasons
    conditions: Conditions = ""
    expires_on: date


def supplier_of(session: Session, scenario: RiskScenario) -> int | None:
    """The supplier organisation behind the scenario's subject, if it has one."""
    if scenario.product_id is not None:
        product = session.get(Product, scenario.product_id)
        return product.organisation_id if product is not None else scenario.supplier_id
    return scenario.supplier_id


def refuse_conflicted_approver(
    session: Session, principal: Principal, supplier_id: int | None
) -> None:
    """Refuse an approver who also works for the supplier whose product they would excuse, as
    signed in or as recorded (a membership added since sign-in counts too)."""
    if supplier_id is None:
        return
    recorded = session.scalar(
        select(Membership.id).where(
            Membership.user_id == principal.user_id, Membership.organisation_id == supplier_id
        )
    )
    if supplier_id in principal.organisation_ids() or recorded is not None:
        raise ValidationFailed(
            "approver: an approver acting on their own organisation's supplier product may not "
            "decide this; ask another SIRO"
        )


def approver_role(principal: Principal, organisation_id: int) -> str:
    """The role by which the principal may accept for this organisation."""
    grants = permission_table().permissions[ACCEPT].grants
    roles = sorted(
        m.role.value
        for m in principal.memberships
        if m.role in grants and (grants[m.role] == "any" or m.organisation_id == organisation_id)
    )
    return roles[0]


def check_expiry(expires_on: date, today: date, longest: int, what: str) -> None:
    if expires_on <= today:
        raise ValidationFailed(
            f"expires_on: {expires_on.isoformat()} is not after today ({today.isoformat()})"
        )
    if expires_on > today + timedelta(days=longest):
        raise ValidationFailed(
            f"expires_on: {what} may run for at most {longest} days, until "
            f"{(today + timedelta(days=longest)).isoformat()}"
        )


def accept_risk(
    session: Session, principal: Principal, scenario_id: int, form: AcceptanceForm, today: date
) -> RiskAcceptance:
    scenario = locked_scenario(session, principal, scenario_id, ACCEPT)
    if scenario.status is RiskStatus.CLOSED:
        raise ValidationFailed("scenario: it is closed; there is no risk left to accept")
    refuse_conflicted_approver(session, principal, supplier_of(session, scenario))
    level = residual_level_of(scenario)
    appetite = risk_policy().appetite
    check_expiry(
        form.expires_on,
        today,
        appetite.max_acceptance_days(level.id),
        f"an acceptance of a {level.name.lower()} risk",
    )
    product = session.get(Product, scenario.product_id) if scenario.product_id else None
    facts = facts_of(product) if product is not None else None
    classification = facts.classification if facts else None
    caveat = facts.sensitive_caveat if facts else False
    tolerated = appetite.appetite_for(classification, caveat)
    within = appetite.tolerated(level.id, classification, caveat)
    role = approver_role(principal, scenario.organisation_id)
    acceptance = RiskAcceptance(
        scenario_id=scenario.id,
        approver_user_id=principal.user_id,
        approver_role=role,
        rationale=form.rationale,
        conditions=form.conditions,
        residual_level=level.id,
        accepted_at=utcnow(),
        expires_on=form.expires_on,
    )
    session.add(acceptance)
    before = scenario.status
    scenario.status = RiskStatus.ACCEPTED
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.accepted",
        "risk_acceptance",
        acceptance.id,
        {
            "acceptance_id": acceptance.id,
            "scenario_id": scenario.id,
            "residual_level": level.id,
            "expires_on": form.expires_on.isoformat(),
            "approver_role": role,
            # The appetite's level for the product's data, and where this risk stands to it.
            "level": tolerated.id,
            "status": "within_appetite" if within else "above_appetite",
            "from": before.value,
            "rationale": form.rationale,
            "conditions": form.conditions,
        },
        organisation_id=scenario.organisation_id,
    )
    return acceptance


def revoke_acceptance(
    session: Session, principal: Principal, acceptance_id: int, today: date
) -> RiskAcceptance:
    """Withdraw an acceptance; the scenario is open again unless another acceptance counts."""
    visible_organisations(principal, ACCEPT)
    found = session.get(RiskAcceptance, acceptance_id)
    if found is None:
        raise NotFound("acceptance not found")
    try:
        scenario = locked_scenario(session, principal, found.scenario_id, ACCEPT)
    except NotFound:
        raise NotFound("acceptance not found") from None
    session.refresh(found)
    if found.revoked_at is not None:
        raise ValidationFailed("acceptance: it is already revoked")
    found.revoked_at = utcnow()
    session.flush()
    if (
        scenario.status is RiskStatus.ACCEPTED
        and current_acceptance(session, scenario.id, today) is None
    ):
        scenario.status = RiskStatus.OPEN
    record(
        session,
        actor_of(principal),
        "risk.acceptance_revoked",
        "risk_acceptance",
        found.id,
        {"acceptance_id": found.id, "scenario_id": scenario.id, "status": scenario.status.value},
        organisation_id=scenario.organisation_id,
    )
    return found
