"""Risk scenarios: a force or national body raises a risk about a product it uses, a supplier, or
itself; rates it on the policy's matrix; and rests it on evidence linked, not copied. The
platform suggests the current likelihood from that evidence; an owner who rates otherwise says
why, so the same evidence reads the same in every force unless someone has written down why not."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from pydantic import (
    Field,
    model_validator,
)
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from frameworks.risk.likelihood import EvidenceKind, EvidenceRef, Suggestion
from frameworks.risk.policy import risk_policy
from kernel.errors import ValidationFailed
from posture.audit import hold_append_lock, record
from posture.audit_encoding import canonical_bytes
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.identity.scoped import load_visible, within_reach
from posture.portfolio.deployments import deployed_product_ids, live_deployment, subject_facts
from posture.risk.acceptance_state import end_outgrown_acceptance
from posture.risk.evidence import (
    EvidenceView,
    available_evidence,
    linked_evidence,
    stored_links,
    suggest_from,
)
from posture.risk.forms import (
    Because,
    Impact,
    Likelihood,
    LongText,
    RecordId,
    RiskForm,
    ThreatId,
    Title,
)
from posture.risk.treatments import residual_blocker
from posture.storage.locks import hold_exclusive
from posture.storage.models import Organisation, Product
from posture.storage.models.enums import OrgKind, RiskStatus, RiskSubjectKind
from posture.storage.models.risk import RiskEvidenceLink, RiskScenario

MAX_LINKS = 100
PRODUCT_SUBJECTS = (RiskSubjectKind.PRODUCT, RiskSubjectKind.DEPLOYMENT)
OWNER_KINDS = (OrgKind.FORCE, OrgKind.NATIONAL_BODY)


class EvidenceRefForm(RiskForm):
    kind: EvidenceKind
    ref: EvidenceRef


EvidenceRefs = Annotated[list[EvidenceRefForm], Field(max_length=MAX_LINKS)]


def _once(refs: list[EvidenceRefForm]) -> None:
    seen: set[tuple[str, str]] = set()
    for ref in refs:
        if (ref.kind.value, ref.ref) in seen:
            raise ValueError(f"evidence: {ref.kind.value} {ref.ref} is listed twice")
        seen.add((ref.kind.value, ref.ref))


class ScenarioForm(RiskForm):
    organisation_id: RecordId
    subject_kind: RiskSubjectKind
    product_id: RecordId | None = None
    supplier_id: RecordId | None = None
    title: Title
    threat: ThreatId
    threat_text: LongText
    vulnerability_text: LongText
    inherent_likelihood: Likelihood
    inherent_impact: Impact
    current_impact: Impact
    # None: take the platform's suggestion.
    current_likelihood: Likelihood | None = None
    differs_because: Because | None = None
    evidence: EvidenceRefs = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs_once(self) -> ScenarioForm:
        _once(self.evidence)
        return self


class RatingForm(RiskForm):
    inherent_likelihood: Likelihood
    inherent_impact: Impact
    current_impact: Impact
    current_likelihood: Likelihood | None = None
    differs_because: Because | None = None
    residual_likelihood: Likelihood | None = None
    residual_impact: Impact | None = None

    @model_validator(mode="after")
    def _residual_whole(self) -> RatingForm:
        if (self.residual_likelihood is None) != (self.residual_impact is None):
            raise ValueError("residual: give both the residual likelihood and impact, or neither")
        return self


class EvidenceRefsForm(RiskForm):
    refs: Annotated[list[EvidenceRefForm], Field(min_length=1, max_length=MAX_LINKS)]

    @model_validator(mode="after")
    def _refs_once(self) -> EvidenceRefsForm:
        _once(self.refs)
        return self


def facts_digest(session: Session, organisation_id: int, product: Product | None) -> str:
    """SHA-256 of the facts the risk is judged on, as canonical JSON: the product's, with the
    owner's use added when it deploys it. Ratings made under the same digest are compared across
    forces; two forces that use a product differently are not."""
    facts = subject_facts(session, organisation_id, product)
    if facts is None:
        return ""
    return hashlib.sha256(canonical_bytes(facts.model_dump(mode="json"))).hexdigest()


def level_of(likelihood: str, impact: str) -> str:
    return risk_policy().matrix.level_of(likelihood, impact).id


def _owner(session: Session, principal: Principal, organisation_id: int) -> Organisation:
    require(principal, "risk.write", organisation_id, "organisation")
    owner = session.get(Organisation, organisation_id)
    if owner is None:
        raise NotFound("organisation not found")
    if owner.kind not in OWNER_KINDS:
        raise ValidationFailed("organisation_id: only a force or a national body owns risks")
    return owner


def reachable_product(session: Session, owner: Organisation, product_id: int) -> Product:
    """The live product, if the owner may file risks about it: a force only about products it
    deploys, and told of no other (the same refusal whether or not the product exists)."""
    product = session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound("product not found")
    if owner.kind == OrgKind.FORCE and live_deployment(session, owner.id, product_id) is None:
        raise NotFound("product not found")
    return product


def _reachable_supplier(session: Session, owner: Organisation, supplier_id: int) -> None:
    supplier = session.get(Organisation, supplier_id)
    if supplier is None or supplier.kind != OrgKind.SUPPLIER:
        raise NotFound("supplier not found")
    if owner.kind == OrgKind.FORCE:
        deployed = session.scalar(
            select(Product.id)
            .where(
                Product.organisation_id == supplier_id,
                Product.deleted_at.is_(None),
                Product.id.in_(deployed_product_ids(owner.id)),
            )
            .limit(1)
        )
        if deployed is None:
            raise NotFound("supplier not found")


def _subject(session: Session, owner: Organisation, form: ScenarioForm) -> Product | None:
    """The subject product (None for supplier and organisation subjects), once the owner is
    allowed to file risks about the subject."""
    kind = form.subject_kind
    if kind in PRODUCT_SUBJECTS:
        if form.product_id is None:
            raise ValidationFailed(f"product_id: a {kind.value} risk names its product")
        if kind == RiskSubjectKind.DEPLOYMENT and owner.kind != OrgKind.FORCE:
            raise ValidationFailed("subject_kind: only a force deploys products")
        product = reachable_product(session, owner, form.product_id)
        if form.supplier_id is not None and form.supplier_id != product.organisation_id:
            raise ValidationFailed("supplier_id: not the supplier of this product")
        return product
    if form.product_id is not None:
        raise ValidationFailed(f"product_id: a {kind.value} risk names no product")
    if kind == RiskSubjectKind.SUPPLIER:
        if form.supplier_id is None:
            raise ValidationFailed("supplier_id: a supplier risk names its supplier")
        _reachable_supplier(session, owner, form.supplier_id)
        return None
    if form.supplier_id is not None:
        raise ValidationFailed("supplier_id: an organisation risk is about the owner itself")
    return None


def _evidence(
    session: Session,
    product: Product | None,
    refs: list[EvidenceRefForm],
    as_of: date,
) -> list[EvidenceView]:
    """The views of the refs, each of which must be evidence about the subject product today:
    a ref to another product's finding or alert is refused by name."""
    if not refs:
        return []
    if product is None:
        raise ValidationFailed("evidence: only a product or deployment risk rests on evidence")
    available = {view.key: view for view in available_evidence(session, product.id, as_of)}
    views = []
    for ref in refs:
        view = available.get((ref.kind.value, ref.ref))
        if view is None:
            raise ValidationFailed(
                f"evidence: {ref.kind.value} {ref.ref} is not current evidence about this "
                f"product as of {as_of.isoformat()}"
            )
        views.append(view)
    return views


def _chosen_likelihood(
    suggestion: Suggestion, likelihood: str | None, because: str | None
) -> tuple[str, str | None]:
    """The owner's likelihood and why it differs from the suggestion (kept only when it does)."""
    if likelihood is None or likelihood == suggestion.likelihood:
        return suggestion.likelihood, None
    if because is None:
        raise ValidationFailed(
            f"differs_because: the evidence suggests {suggestion.likelihood} "
            f"({suggestion.explain()}); say in 10 or more characters why you rate {likelihood}"
        )
    return likelihood, because


def _link(scenario: RiskScenario, view: EvidenceView) -> RiskEvidenceLink:
    return RiskEvidenceLink(
        scenario_id=scenario.id,
        kind=view.kind.value,
        ref=view.ref,
        finding_id=view.finding_id,
        alert_id=view.alert_id,
    )


def raise_scenario(
    session: Session, principal: Principal, form: ScenarioForm, as_of: date
) -> RiskScenario:
    """Record a new open scenario with its evidence links and the platform's suggestion; all of
    it or, on any refusal, none of it."""
    owner = _owner(session, principal, form.organisation_id)
    hold_append_lock(session)
    product = _subject(session, owner, form)
    views = _evidence(session, product, form.evidence, as_of)
    suggestion = suggest_from(views)
    likelihood, because = _chosen_likelihood(
        suggestion, form.current_likelihood, form.differs_because
    )
    policy = risk_policy()
    scenario = RiskScenario(
        organisation_id=owner.id,
        subject_kind=form.subject_kind,
        product_id=product.id if product is not None else None,
        supplier_id=product.organisation_id if product is not None else form.supplier_id,
        title=form.title,
        threat=form.threat,
        threat_text=form.threat_text,
        vulnerability_text=form.vulnerability_text,
        matrix_version=policy.version,
        inherent_likelihood=form.inherent_likelihood,
        inherent_impact=form.inherent_impact,
        current_likelihood=likelihood,
        current_impact=form.current_impact,
        suggested_likelihood=suggestion.likelihood,
        differs_because=because,
        facts_digest=facts_digest(session, form.organisation_id, product),
        status=RiskStatus.OPEN,
        created_by_user_id=principal.user_id,
    )
    session.add(scenario)
    session.flush()
    session.add_all([_link(scenario, view) for view in views])
    # The deployment that let a force file this risk, so the trail shows what gave it reach.
    deployment = (
        live_deployment(session, owner.id, product.id)
        if product is not None and owner.kind == OrgKind.FORCE
        else None
    )
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.raised",
        "risk_scenario",
        scenario.id,
        {
            "scenario_id": scenario.id,
            "subject_kind": scenario.subject_kind.value,
            "product_id": scenario.product_id,
            "supplier_id": scenario.supplier_id,
            "deployment_id": deployment.id if deployment is not None else None,
            "threat": scenario.threat,
            "likelihood": likelihood,
            "impact": scenario.current_impact,
            "level": level_of(likelihood, scenario.current_impact),
            # The inherent level: where the risk stands before the controls now in place.
            "from": level_of(scenario.inherent_likelihood, scenario.inherent_impact),
            "suggested": suggestion.likelihood,
            "links": [view.ref for view in views],
            "matrix_version": scenario.matrix_version,
            "facts_digest": scenario.facts_digest,
            "status": scenario.status.value,
            # Free text: kept apart from the chain as personal data may be.
            "title": scenario.title,
            "threat_text": scenario.threat_text,
            "vulnerability_text": scenario.vulnerability_text,
            "rationale": because,
        },
        organisation_id=owner.id,
    )
    return scenario


def scenario_for_change(session: Session, principal: Principal, scenario_id: int) -> RiskScenario:
    """The scenario, once the principal may change it, locked so that changes to it and what
    hangs off it (links, treatments, acceptances) happen one at a time; NotFound when out of
    reach."""
    scenario = load_visible(session, RiskScenario, scenario_id, principal, "risk.write", "scenario")
    hold_append_lock(session)
    hold_exclusive(session, f"risk-scenario:{scenario.id}")
    session.refresh(scenario)
    return scenario


def _snapshot(scenario: RiskScenario) -> dict[str, Any]:
    residual = None
    if scenario.residual_likelihood is not None and scenario.residual_impact is not None:
        residual = f"{scenario.residual_likelihood}/{scenario.residual_impact}"
    return {
        # "from" is the inherent level, as in risk.raised.
        "from": level_of(scenario.inherent_likelihood, scenario.inherent_impact),
        "likelihood": scenario.current_likelihood,
        "impact": scenario.current_impact,
        "level": level_of(scenario.current_likelihood, scenario.current_impact),
        "residual": residual,
        "residual_level": (
            level_of(scenario.residual_likelihood, scenario.residual_impact)
            if residual is not None
            else None
        ),
    }


def _refuse_closed(scenario: RiskScenario) -> None:
    if scenario.status == RiskStatus.CLOSED:
        raise ValidationFailed("status: the scenario is closed; raise a new one instead")


def rate_scenario(
    session: Session, principal: Principal, scenario_id: int, form: RatingForm, as_of: date
) -> RiskScenario:
    """Re-rate inherent, current and (optionally) residual levels against a fresh suggestion."""
    scenario = scenario_for_change(session, principal, scenario_id)
    _refuse_closed(scenario)
    suggestion = suggest_from(
        [
            view.evidence
            for view in linked_evidence(session, scenario, as_of)
            if view.evidence is not None
        ]
    )
    likelihood, because = _chosen_likelihood(
        suggestion, form.current_likelihood, form.differs_because
    )
    before = _snapshot(scenario)
    scenario.inherent_likelihood, scenario.inherent_impact = (
        form.inherent_likelihood,
        form.inherent_impact,
    )
    scenario.current_likelihood, scenario.current_impact = likelihood, form.current_impact
    if form.residual_likelihood is not None:
        # A residual stands for a treatment that has taken effect: the same rule as recording it.
        blocker = residual_blocker(session, scenario.id)
        if blocker is not None:
            raise ValidationFailed(f"residual: {blocker}")
        scenario.residual_likelihood, scenario.residual_impact = (
            form.residual_likelihood,
            form.residual_impact,
        )
    scenario.suggested_likelihood, scenario.differs_because = suggestion.likelihood, because
    scenario.matrix_version = risk_policy().version
    if scenario.product_id is not None:
        scenario.facts_digest = facts_digest(
            session, scenario.organisation_id, session.get(Product, scenario.product_id)
        )
    end_outgrown_acceptance(session, actor_of(principal), scenario, as_of)
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.rated",
        "risk_scenario",
        scenario.id,
        {
            "scenario_id": scenario.id,
            "before": before,
            "after": _snapshot(scenario),
            "suggested": suggestion.likelihood,
            "facts_digest": scenario.facts_digest,
            "rationale": because,
        },
        organisation_id=scenario.organisation_id,
    )
    return scenario


def _subject_product(session: Session, scenario: RiskScenario) -> Product:
    owner = session.get(Organisation, scenario.organisation_id)
    if owner is None or scenario.product_id is None:
        raise ValidationFailed("evidence: only a product or deployment risk rests on evidence")
    return reachable_product(session, owner, scenario.product_id)


def link_evidence(
    session: Session,
    principal: Principal,
    scenario_id: int,
    refs: EvidenceRefsForm,
    as_of: date,
) -> list[RiskEvidenceLink]:
    """Link more evidence; each ref must be current evidence about the scenario's product, and
    a ref already linked is refused rather than linked twice."""
    scenario = scenario_for_change(session, principal, scenario_id)
    _refuse_closed(scenario)
    product = _subject_product(session, scenario)
    linked = {(link.kind, link.ref) for link in stored_links(session, scenario.id)}
    if len(linked) + len(refs.refs) > MAX_LINKS:
        raise ValidationFailed(f"refs: a scenario rests on at most {MAX_LINKS} pieces of evidence")
    for ref in refs.refs:
        if (ref.kind.value, ref.ref) in linked:
            raise ValidationFailed(f"refs: {ref.kind.value} {ref.ref} is already linked")
    views = _evidence(session, product, refs.refs, as_of)
    links = [_link(scenario, view) for view in views]
    session.add_all(links)
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.evidence_linked",
        "risk_scenario",
        scenario.id,
        {"scenario_id": scenario.id, "links": [view.ref for view in views]},
        organisation_id=scenario.organisation_id,
    )
    return links


def unlink_evidence(
    session: Session,
    principal: Principal,
    scenario_id: int,
    refs: EvidenceRefsForm,
    as_of: date,
) -> int:
    """Remove links (current or resolved); every ref must be linked. How many were removed."""
    scenario = scenario_for_change(session, principal, scenario_id)
    _refuse_closed(scenario)
    by_key = {(link.kind, link.ref): link for link in stored_links(session, scenario.id)}
    chosen = []
    for ref in refs.refs:
        link = by_key.get((ref.kind.value, ref.ref))
        if link is None:
            raise ValidationFailed(f"refs: {ref.kind.value} {ref.ref} is not linked")
        chosen.append(link)
    for link in chosen:
        session.delete(link)
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.evidence_unlinked",
        "risk_scenario",
        scenario.id,
        {
            "scenario_id": scenario.id,
            "links": [link.ref for link in chosen],
            "as_of": as_of.isoformat(),
        },
        organisation_id=scenario.organisation_id,
    )
    return len(chosen)


def get_scenario(session: Session, principal: Principal, scenario_id: int) -> RiskScenario:
    return load_visible(session, RiskScenario, scenario_id, principal, "risk.read", "scenario")


def scenarios_query(
    principal: Principal, organisation_id: int | None = None, product_id: int | None = None
) -> Select[tuple[RiskScenario]]:
    """The scenarios the principal may read, optionally of one owner or one product, by id."""
    query = within_reach(select(RiskScenario), RiskScenario.organisation_id, principal, "risk.read")
    if organisation_id is not None:
        query = query.where(RiskScenario.organisation_id == organisation_id)
    if product_id is not None:
        query = query.where(RiskScenario.product_id == product_id)
    return query.order_by(RiskScenario.id)
