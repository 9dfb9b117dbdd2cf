"""The SIRO accepts a scenario's residual risk until a day: bounded by the appetite's longest
acceptance for that level, never by someone who works for the supplier whose product carries the
risk, and recorded with whether the level is within appetite for the data the product holds.
An acceptance counts until it is revoked or its day passes (`acceptance_counts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.risk.appetite import tier_label
from frameworks.risk.matrix import RiskLevel
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
from posture.portfolio.deployments import judged_tier, subject_facts
from posture.risk.acceptance_state import (
    current_acceptance,
    residual_level_of,
)
from posture.risk.forms import Conditions, Reasons, RiskForm
from posture.risk.treatments import locked_scenario
from posture.storage.models import Membership, Product, RiskAcceptance, RiskScenario
from posture.storage.models.enums import RiskStatus

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


@dataclass(frozen=True)
class AcceptanceTerms:
    """What accepting a scenario's risk today would mean: its level (the residual, or the current
    until a treatment's residual is rated), the longest it may be accepted for, and where it
    stands to the appetite for the data it is about."""

    level: RiskLevel
    longest_days: int
    until: date
    tolerated: RiskLevel
    judged_as: str
    within: bool

    def explain(self) -> str:
        stance = "within" if self.within else "above"
        return (
            f"A {self.level.name.lower()} risk, {stance} the appetite for {self.judged_as} data "
            f"(at most {self.tolerated.name.lower()}); it may be accepted for at most "
            f"{self.longest_days} days, until {self.until.isoformat()}."
        )


def acceptance_terms(session: Session, scenario: RiskScenario, today: date) -> AcceptanceTerms:
    level = residual_level_of(scenario)
    appetite = risk_policy().appetite
    product = session.get(Product, scenario.product_id) if scenario.product_id else None
    facts = subject_facts(session, scenario.organisation_id, product)
    classification, caveat = judged_tier(facts)
    longest = appetite.max_acceptance_days(level.id)
    return AcceptanceTerms(
        level=level,
        longest_days=longest,
        until=today + timedelta(days=longest),
        tolerated=appetite.appetite_for(classification, caveat),
        judged_as=(
            "undeclared (read as the strictest)"
            if classification is None
            else tier_label((classification, caveat))
        ),
        within=appetite.tolerated(level.id, classification, caveat),
    )


def accept_risk(
    session: Session, principal: Principal, scenario_id: int, form: AcceptanceForm, today: date
) -> RiskAcceptance:
    scenario = locked_scenario(session, principal, scenario_id, ACCEPT)
    if scenario.status is RiskStatus.CLOSED:
        raise ValidationFailed("scenario: it is closed; there is no risk left to accept")
    refuse_conflicted_approver(session, principal, supplier_of(session, scenario))
    terms = acceptance_terms(session, scenario, today)
    level, tolerated, within = terms.level, terms.tolerated, terms.within
    check_expiry(
        form.expires_on, today, terms.longest_days, f"an acceptance of a {level.name.lower()} risk"
    )
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
