"""A product's target profile: derived from its facts by the framework's proportionality rules,
raised (never lowered) by an assessor with a reason, and applied to its assessments. When the
facts or a raise change the target, the product's live assessments are re-targeted, audited,
and the supplier is told with an alert."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.deployment_facts import FACT_OF_FIELD, DeploymentFacts
from frameworks.loader import LoadedFramework
from frameworks.proportionality import Derivation, SubjectRules, derive
from frameworks.schema import Audience
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_of
from posture.audit import Actor, record
from posture.monitoring.changes import PROFILE_RETARGETED, decision_alert
from posture.storage.models import Alert, Assessment, Product, ProfileRaise
from posture.storage.models.enums import AssessmentStatus


@dataclass(frozen=True)
class TargetProfile:
    """The profile a subject must meet: its derivation, and an assessor's raise if higher."""

    derivation: Derivation
    raised_to: str | None = None
    raise_reason: str | None = None

    @property
    def profile_id(self) -> str:
        return self.raised_to or self.derivation.profile_id

    def explain(self) -> str:
        if self.raised_to is None:
            return self.derivation.explain()
        return (
            f"{self.raised_to}, raised by an assessor from {self.derivation.explain()}; "
            f"reason given: {self.raise_reason}"
        )


def product_profile_lock(product_id: int) -> str:
    """Held while a product's target changes (its facts, or a raise), so two changes at once
    re-target in turn and the second sees the first."""
    return f"product-profile:{product_id}"


def facts_of(product: Product) -> DeploymentFacts:
    """The facts the rules read of a stored product (stored through the product form, so valid;
    its fact columns carry the fields' names)."""
    return DeploymentFacts.model_validate(
        {fact: getattr(product, field) for field, fact in FACT_OF_FIELD.items()}
    )


def supplier_rules(loaded: LoadedFramework) -> SubjectRules:
    """The framework's rules for supplier subjects. A framework without them and with one
    supplier profile takes that one; with several, no profile can be derived."""
    rules = loaded.subject_rules(Audience.SUPPLIER)
    if rules is not None:
        return rules
    theirs = [p.id for p in loaded.profiles.values() if p.subject is Audience.SUPPLIER]
    if len(theirs) == 1:
        return SubjectRules(order=theirs, default=theirs[0])
    title = f"{loaded.framework.title} {loaded.framework.version}"
    if not theirs:
        raise ValidationFailed(f"framework: {title} has no profile for suppliers")
    raise ValidationFailed(f"framework: {title} has no rules to choose among its supplier profiles")


def _rules_version(loaded: LoadedFramework) -> str:
    return f"{loaded.framework.title} {loaded.framework.version}"


def _target(
    rules: SubjectRules, loaded: LoadedFramework, product: Product, raised: ProfileRaise | None
) -> TargetProfile:
    derivation = derive(rules, facts_of(product), _rules_version(loaded))
    # A raise to a profile this version no longer has, or one the facts now exceed, holds no
    # more: the derivation alone decides.
    if (
        raised is None
        or raised.profile_id not in rules.order
        or rules.rank(raised.profile_id) <= rules.rank(derivation.profile_id)
    ):
        return TargetProfile(derivation)
    return TargetProfile(derivation, raised.profile_id, raised.reason)


def product_target(session: Session, loaded: LoadedFramework, product: Product) -> TargetProfile:
    raised = session.scalar(
        select(ProfileRaise).where(
            ProfileRaise.product_id == product.id,
            ProfileRaise.framework_id == loaded.framework.framework_id,
        )
    )
    return _target(supplier_rules(loaded), loaded, product, raised)


def organisation_target(
    session: Session, loaded: LoadedFramework, organisation_id: int
) -> TargetProfile:
    """A supplier as a whole meets the most demanding target of its live products. Two queries
    whatever the number of products: registering one more must not cost one more per product."""
    rules = supplier_rules(loaded)
    products = session.scalars(
        select(Product)
        .where(Product.organisation_id == organisation_id, Product.deleted_at.is_(None))
        .order_by(Product.id)
    ).all()
    if not products:
        return TargetProfile(Derivation(rules.default, (), _rules_version(loaded)))
    raises = {
        raised.product_id: raised
        for raised in session.scalars(
            select(ProfileRaise)
            .join(Product, Product.id == ProfileRaise.product_id)
            .where(
                Product.organisation_id == organisation_id,
                ProfileRaise.framework_id == loaded.framework.framework_id,
            )
        )
    }
    targets = [(p, _target(rules, loaded, p, raises.get(p.id))) for p in products]
    product, strictest = max(targets, key=lambda pair: rules.rank(pair[1].profile_id))
    because = (f"its product {product.name!r} needs {strictest.explain()}",)
    return TargetProfile(Derivation(strictest.profile_id, because, _rules_version(loaded)))


@dataclass(frozen=True)
class Retargeted:
    assessment_id: int
    before: str
    after: str
    because: str


def apply_target(session: Session, actor: Actor, product: Product) -> list[Retargeted]:
    """Move each live assessment of the product (and of its supplier as a whole) to its target
    under its own framework version; audit each move and tell the supplier once per product."""
    live = session.scalars(
        select(Assessment)
        .where(
            Assessment.organisation_id == product.organisation_id,
            (Assessment.product_id == product.id) | Assessment.product_id.is_(None),
            Assessment.status != AssessmentStatus.SUPERSEDED,
        )
        .order_by(Assessment.id)
    ).all()
    moved: list[Retargeted] = []
    for assessment in live:
        loaded = framework_of(session, assessment)
        try:
            target = (
                product_target(session, loaded, product)
                if assessment.product_id is not None
                else organisation_target(session, loaded, product.organisation_id)
            )
        except ValidationFailed:
            continue  # a framework that cannot derive a supplier profile keeps its own
        if target.profile_id == assessment.profile_id:
            continue
        rules = supplier_rules(loaded)
        lower = assessment.profile_id in rules.order and rules.rank(target.profile_id) < rules.rank(
            assessment.profile_id
        )
        if lower and assessment.status is not AssessmentStatus.DRAFT:
            # Facts that now ask for less do not lower the bar an assessment was submitted or
            # accepted against: the next version is measured against the new target.
            continue
        moved.append(
            Retargeted(assessment.id, assessment.profile_id, target.profile_id, target.explain())
        )
        record(
            session,
            actor,
            "assessment.retargeted",
            "assessment",
            assessment.id,
            {
                "product_id": assessment.product_id,
                "from": assessment.profile_id,
                "to": target.profile_id,
                "because": target.explain(),
                "framework": assessment.framework,
            },
            organisation_id=assessment.organisation_id,
        )
        assessment.profile_id = target.profile_id
    if moved:
        draft = decision_alert(
            PROFILE_RETARGETED,
            {
                "assessments": [m.assessment_id for m in moved],
                "from": moved[0].before,
                "to": moved[0].after,
                "because": moved[0].because,
            },
        )
        alert = Alert(
            organisation_id=product.organisation_id,
            product_id=product.id,
            code=draft.code,
            severity=draft.severity.value,
            title=draft.title,
            advice=draft.advice,
            detail=draft.detail,
        )
        session.add(alert)
        session.flush()
        record(
            session,
            actor,
            "alert.raised",
            "alert",
            alert.id,
            {"code": alert.code, "product_id": product.id},
            organisation_id=product.organisation_id,
        )
    return moved
