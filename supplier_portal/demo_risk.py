"""The demo force's risk register, filled through the same services a force uses: it deploys three
products, raises scenarios on their evidence, mitigates one, its SIRO accepts one and excuses a
product from a critical outcome, and the next force rates one of the same risks differently, so
every register page (heatmap, acceptances, exceptions, the consistency report) has something to
show on first sign-in. The product with a contradicted claim keeps an open scenario and no
acceptance, for the browser journey to raise and accept a risk of its own there."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.deployment_facts import ForceUse, NationalSystem, PoliceNetwork
from frameworks.loader import default_framework
from frameworks.risk.likelihood import EvidenceKind
from frameworks.risk.policy import risk_policy
from frameworks.urns import outcome_urn
from posture.identity.permissions import Membership, Principal
from posture.portfolio.deployments import deploy_product
from posture.risk.acceptances import AcceptanceForm, accept_risk
from posture.risk.evidence import EvidenceView, available_evidence
from posture.risk.exceptions import ExceptionForm, grant_exception
from posture.risk.scenarios import EvidenceRefForm, ScenarioForm, raise_scenario, suggest_from
from posture.risk.treatments import (
    ActionForm,
    TreatmentForm,
    add_action,
    add_treatment,
    set_action_status,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Organisation, Product, User
from posture.storage.models.enums import ActionStatus, OrgKind, RiskSubjectKind, Role, TreatmentKind
from posture.target_profiles import product_target, supplier_rules
from supplier_portal.demo_listing import list_products
from supplier_portal.demo_portfolio import seed_portfolios

# Products looked at for demo evidence, in id order: enough to find a contradicted claim and a
# critical gap in any seeded estate, few enough that 10,000 suppliers seed as fast as 20.
SCAN_LIMIT = 200
ACCEPTANCE_DAYS = 90
EXCEPTION_DAYS = 90  # the appetite's longest for a critical outcome


class DemoRiskRegister(BaseModel):
    """The ids the demo made, for the CLI's JSON and the browser journey."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    force_id: int
    second_force_id: int | None
    product_ids: list[int]
    deployment_ids: list[int]
    scenario_ids: list[int]
    treatment_id: int
    action_ids: list[int]
    acceptance_id: int
    exception_id: int | None
    second_force_scenario_id: int | None
    journey_product_id: int
    portfolio: dict[str, int]


class _Chosen(BaseModel):
    """A product to deploy and the evidence about it the story rests on (possibly none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: int
    evidence: list[EvidenceView]


def demo_principal(session: Session, email: str, role: Role) -> Principal:
    """The demo user with this address, acting in `role` in its organisation."""
    found = session.execute(
        select(User.id, MembershipRow.organisation_id)
        .join(MembershipRow, MembershipRow.user_id == User.id)
        .where(User.email == email, MembershipRow.role == role)
    ).first()
    if found is None:
        raise LookupError(f"no {role.value} user {email} in the demo estate")
    user_id, organisation_id = found
    return Principal(user_id, email, (Membership(organisation_id, role),))


def _second_force_assessor(session: Session, force_id: int) -> Principal | None:
    """The force assessor of the force after this one in the estate (the first, after the last)."""
    forces = list(
        session.scalars(
            select(Organisation.id)
            .where(Organisation.kind == OrgKind.FORCE)
            .order_by(Organisation.id)
        )
    )
    others = [f for f in forces if f > force_id] + [f for f in forces if f < force_id]
    for organisation_id in others:
        found = session.execute(
            select(User.id, User.email)
            .join(MembershipRow, MembershipRow.user_id == User.id)
            .where(
                MembershipRow.organisation_id == organisation_id,
                MembershipRow.role == Role.FORCE_ASSESSOR,
            )
            .order_by(User.id)
        ).first()
        if found is not None:
            return Principal(
                found.id, found.email, (Membership(organisation_id, Role.FORCE_ASSESSOR),)
            )
    return None


def _of_kind(
    evidence: list[EvidenceView], kind: EvidenceKind, critical: bool = False
) -> list[EvidenceView]:
    return [v for v in evidence if v.kind == kind and (v.critical_outcome or not critical)]


def _choose_products(session: Session, as_of: date) -> tuple[_Chosen, _Chosen, _Chosen] | None:
    """Three distinct products: the first with a contradicted claim, the first other with a
    critical framework gap, the first other with any evidence; a slot nothing fills takes the
    next product by id, so a tiny estate still gets its three; None with fewer than three."""
    product_ids = list(
        session.scalars(
            select(Product.id)
            .where(Product.deleted_at.is_(None))
            .order_by(Product.id)
            .limit(SCAN_LIMIT)
        )
    )
    if len(product_ids) < 3:
        return None
    contradicted: _Chosen | None = None
    critical_gap: _Chosen | None = None
    other: _Chosen | None = None
    for product_id in product_ids:
        evidence = available_evidence(session, product_id, as_of)
        claims = _of_kind(evidence, EvidenceKind.CONTRADICTED_CLAIM)
        gaps = _of_kind(evidence, EvidenceKind.FRAMEWORK_GAP, critical=True)
        if contradicted is None and claims:
            contradicted = _Chosen(product_id=product_id, evidence=claims[:1])
        elif critical_gap is None and gaps:
            critical_gap = _Chosen(product_id=product_id, evidence=gaps[:1])
        elif other is None and evidence:
            other = _Chosen(product_id=product_id, evidence=evidence[:1])
        if contradicted and critical_gap and other:
            break
    taken = {c.product_id for c in (contradicted, critical_gap, other) if c is not None}
    spare = iter(p for p in product_ids if p not in taken)
    return (
        contradicted or _Chosen(product_id=next(spare), evidence=[]),
        critical_gap or _Chosen(product_id=next(spare), evidence=[]),
        other or _Chosen(product_id=next(spare), evidence=[]),
    )


def _least_demanding(session: Session, product_ids: list[int]) -> int:
    """The index of the first product whose own target is below the critical profile, else 2."""
    loaded = default_framework()
    rules = supplier_rules(loaded)
    for index, product_id in enumerate(product_ids):
        product = session.get(Product, product_id)
        if (
            product is not None
            and product_target(session, loaded, product).profile_id != (rules.order[-1])
        ):
            return index
    return 2


def _refs(chosen: _Chosen) -> list[EvidenceRefForm]:
    return [EvidenceRefForm(kind=view.kind, ref=view.ref) for view in chosen.evidence]


def _outcome_of(chosen: _Chosen) -> str | None:
    """The default framework's outcome a gap or contradicted claim is about: refs carry the
    outcome's URN, whose element is lower-cased, so match it against each outcome's URN."""
    framework = default_framework().framework
    by_ref = {
        f"outcome:{outcome_urn(framework.framework_id, framework.version, o.id)}": o.id
        for o in framework.outcomes()
    }
    return next((by_ref[v.ref] for v in chosen.evidence if v.ref in by_ref), None)


def _other_likelihood(suggested: str, impact: str) -> str:
    """A likelihood at a different risk level from the suggestion's at this impact: the lowest
    that differs, so the divergence reads as one force discounting the evidence."""
    matrix = risk_policy().matrix
    suggested_level = matrix.level_of(suggested, impact).id
    for likelihood in matrix.likelihood_ids():
        if matrix.level_of(likelihood, impact).id != suggested_level:
            return likelihood
    raise LookupError(f"every likelihood at impact {impact} is one level")  # not in a 5x5 matrix


def _one_step_up(suggested: str) -> str:
    """The next likelihood above the suggestion (below it, when it is already the highest)."""
    ids = list(risk_policy().matrix.likelihood_ids())
    index = ids.index(suggested)
    return ids[index + 1] if index + 1 < len(ids) else ids[index - 1]


def _scenario(
    owner: int, chosen: _Chosen, title: str, threat: str, impact: str, **rating: str
) -> ScenarioForm:
    return ScenarioForm(
        organisation_id=owner,
        subject_kind=RiskSubjectKind.DEPLOYMENT,
        product_id=chosen.product_id,
        title=title,
        threat=threat,
        threat_text=risk_policy().threats.threat(threat).description,
        vulnerability_text=(
            "; ".join(view.label for view in chosen.evidence)
            or "No adverse evidence yet; raised on the product's role in the force."
        ),
        inherent_likelihood="likely",
        inherent_impact=impact,
        current_impact=impact,
        evidence=_refs(chosen),
        **rating,
    )


def seed_risk_register(
    session: Session, force_assessor_email: str, siro_email: str, as_of: date
) -> dict[str, Any] | None:
    """Fill the demo force's register as of `as_of` (the estate's day, used as "today" for every
    decision, so the same seed gives the same register). The ids it made, by what they are; None
    when the estate has fewer than three products to deploy."""
    assessor = demo_principal(session, force_assessor_email, Role.FORCE_ASSESSOR)
    siro = demo_principal(session, siro_email, Role.SIRO)
    (force_id,) = assessor.organisation_ids()
    if siro.organisation_ids() != {force_id}:
        raise LookupError(f"{siro_email} is not the SIRO of {force_assessor_email}'s force")
    chosen = _choose_products(session, as_of)
    if chosen is None:
        return None
    claimed, gapped, third = chosen
    # A force deploys only listed products: the demo's officer lists them first.
    list_products(session, [c.product_id for c in chosen], as_of)
    # The force connects one product to PNN and gives it PNC access: the register shows that
    # deployment needs the critical national profile. The first whose own target is lower
    # shows the difference; if none is, the third.
    uses: list[ForceUse | None] = [None, None, None]
    uses[_least_demanding(session, [c.product_id for c in chosen])] = ForceUse(
        police_networks=[PoliceNetwork.PNN], national_systems=[NationalSystem.PNC]
    )
    deployments = [
        deploy_product(session, assessor, force_id, c.product_id, use)
        for c, use in zip(chosen, uses, strict=True)
    ]

    # The contradicted claim, rated as the evidence suggests: left open for the browser journey.
    open_risk = raise_scenario(
        session,
        assessor,
        _scenario(
            force_id,
            claimed,
            "Access claims not borne out by checks",
            "unauthorised-access",
            "major",
        ),
        as_of,
    )
    # The critical gap, rated above the suggestion with the reason written down, and mitigated.
    suggested = suggest_from(gapped.evidence).likelihood
    treated_risk = raise_scenario(
        session,
        assessor,
        _scenario(
            force_id,
            gapped,
            "Critical outcome not achieved by a deployed product",
            "data-breach",
            "moderate",
            current_likelihood=_one_step_up(suggested),
            differs_because=(
                "The product holds custody records across the whole force, so a gap in this "
                "outcome is reachable from every station, not just one team."
            ),
        ),
        as_of,
    )
    treatment = add_treatment(
        session,
        assessor,
        treated_risk.id,
        TreatmentForm(
            kind=TreatmentKind.MITIGATE,
            description="Close the gap with the supplier and contain it in the force meanwhile.",
        ),
    )
    gap_outcome = _outcome_of(gapped)
    addresses = [gap_outcome] if gap_outcome is not None else []
    actions = [
        add_action(
            session,
            assessor,
            treatment.id,
            ActionForm(
                title=title, owner=owner, due_on=as_of + timedelta(days=days), addresses=addresses
            ),
        )
        for title, owner, days in (
            ("Restrict the product to the force network", "Force network team", 30),
            (
                "Supplier remediation plan agreed and delivered",
                "Supplier relationship manager",
                120,
            ),
        )
    ]
    set_action_status(session, assessor, actions[0].id, ActionStatus.DONE, as_of)
    # At moderate impact the level is high at most: the appetite lets a SIRO accept it for 90 days.
    accepted_risk = raise_scenario(
        session,
        assessor,
        _scenario(force_id, third, "Loss of a supporting service", "service-loss", "moderate"),
        as_of,
    )
    acceptance = accept_risk(
        session,
        siro,
        accepted_risk.id,
        AcceptanceForm(
            rationale=(
                "The service has a manual fallback the force has rehearsed; the residual risk is "
                "carried until the supplier's next assessment."
            ),
            conditions="Review if the supplier reports an outage longer than four hours.",
            expires_on=as_of + timedelta(days=ACCEPTANCE_DAYS),
        ),
        as_of,
    )
    exception = (
        grant_exception(
            session,
            siro,
            ExceptionForm(
                organisation_id=force_id,
                product_id=gapped.product_id,
                outcome_id=gap_outcome,
                compensating_controls=(
                    "The product is reachable only from the force network and its access is "
                    "reviewed monthly by the information security team."
                ),
                rationale=(
                    "The supplier's remediation is planned; the force carries the gap knowingly "
                    "until it is delivered."
                ),
                expires_on=as_of + timedelta(days=EXCEPTION_DAYS),
            ),
            as_of,
        )
        if gap_outcome is not None
        else None
    )
    second_force, second_risk = _second_rating(session, force_id, claimed, as_of)
    # Every force's portfolio of the same products, for the concentration view.
    portfolio = seed_portfolios(session, assessor, force_id, [c.product_id for c in chosen], as_of)
    return DemoRiskRegister(
        force_id=force_id,
        second_force_id=second_force,
        product_ids=[c.product_id for c in chosen],
        deployment_ids=[d.id for d in deployments],
        scenario_ids=[open_risk.id, treated_risk.id, accepted_risk.id],
        treatment_id=treatment.id,
        action_ids=[a.id for a in actions],
        acceptance_id=acceptance.id,
        exception_id=exception.id if exception is not None else None,
        second_force_scenario_id=second_risk,
        journey_product_id=claimed.product_id,
        portfolio=portfolio,
    ).model_dump()


def _second_rating(
    session: Session, force_id: int, claimed: _Chosen, as_of: date
) -> tuple[int | None, int | None]:
    """The next force deploys the same product and rates the same threat on the same evidence
    at a different level, so the consistency report has a divergence to show."""
    other = _second_force_assessor(session, force_id)
    if other is None:
        return None, None
    (organisation_id,) = other.organisation_ids()
    deploy_product(session, other, organisation_id, claimed.product_id)
    impact = "major"
    suggested = suggest_from(claimed.evidence).likelihood
    scenario = raise_scenario(
        session,
        other,
        _scenario(
            organisation_id,
            claimed,
            "Access claims not borne out by checks",
            "unauthorised-access",
            impact,
            current_likelihood=_other_likelihood(suggested, impact),
            differs_because=(
                "Our deployment is reachable only through the force's own single sign-on and "
                "network, so this weakness is not exposed to outside attackers."
            ),
        ),
        as_of,
    )
    return organisation_id, scenario.id
