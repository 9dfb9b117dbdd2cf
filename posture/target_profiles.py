"""A product's target profile: derived from its facts by the framework's proportionality rules,
raised (never lowered) by an assessor with a reason, and applied to its assessments. When the
facts or a raise change the target, the product's live assessments are re-targeted, audited,
and the supplier is told with an alert."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.deployment_facts import FACT_OF_FIELD, DeploymentFacts, ForceUse
from frameworks.loader import LoadedFramework
from frameworks.proportionality import Derivation, SubjectRules, derive
from frameworks.schema import Audience
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_of
from posture.audit import Actor, hold_append_lock, record
from posture.monitoring.alerts import raise_decision_alert
from posture.monitoring.changes import PROFILE_RETARGETED, PROFILE_TARGET_FELL
from posture.storage.models import Alert, Assessment, Deployment, Product, ProfileRaise
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


def force_use_of(deployment: Deployment) -> ForceUse:
    """What the force's use adds, as stored (through ForceUse, so valid)."""
    return ForceUse.model_validate(
        {field: getattr(deployment, field) for field in ForceUse.model_fields}
    )


def deployment_targets(
    session: Session, loaded: LoadedFramework, deployments: list[tuple[Deployment, Product]]
) -> list[TargetProfile]:
    """What each force's deployment needs: at least what its product needs (its derivation or an
    assessor's raise), and more when the force's own use adds facts that ask for more. Two
    queries' worth of work however many deployments: the raises are read at once."""
    rules = supplier_rules(loaded)
    raises = {
        raised.product_id: raised
        for raised in session.scalars(
            select(ProfileRaise).where(
                ProfileRaise.product_id.in_({product.id for _, product in deployments}),
                ProfileRaise.framework_id == loaded.framework.framework_id,
            )
        )
    }
    targets = []
    for deployment, product in deployments:
        own = _target(rules, loaded, product, raises.get(product.id))
        facts = force_use_of(deployment).added_to(facts_of(product))
        used = derive(rules, facts, _rules_version(loaded))
        targets.append(
            TargetProfile(used) if rules.rank(used.profile_id) > rules.rank(own.profile_id) else own
        )
    return targets


@dataclass(frozen=True)
class Retargeted:
    assessment_id: int
    before: str
    after: str
    because: str
    # True when the target fell below a submitted or accepted assessment, which keeps its bar.
    held: bool = False
    # True when the move asks for more: outcomes came into scope that are still to answer.
    up: bool = False


def subject_target(
    session: Session, loaded: LoadedFramework, assessment: Assessment, product: Product | None
) -> TargetProfile:
    """The target of the assessment's subject (its product, or its organisation) under `loaded`;
    ValidationFailed when the product is gone or the framework derives no supplier profile."""
    if assessment.product_id is None:
        return organisation_target(session, loaded, assessment.organisation_id)
    product = product if product is not None else session.get(Product, assessment.product_id)
    if product is None:
        raise ValidationFailed("product not found")
    return product_target(session, loaded, product)


def retarget(
    session: Session, actor: Actor, assessment: Assessment, product: Product | None = None
) -> Retargeted | None:
    """Move one live supplier assessment to its subject's target under its own framework
    version, audited; None when it is there already or its framework derives no supplier
    profile. A draft follows its target down as well as up; a submitted or accepted assessment
    is never lowered (it is reported as held, for an assessor to look at the facts that fell)."""
    loaded = framework_of(session, assessment)
    try:
        target = subject_target(session, loaded, assessment, product)
    except ValidationFailed:
        return None  # a framework that cannot derive a supplier profile keeps its own
    if target.profile_id == assessment.profile_id:
        return None
    rules = supplier_rules(loaded)
    lower = assessment.profile_id in rules.order and rules.rank(target.profile_id) < rules.rank(
        assessment.profile_id
    )
    if lower and assessment.status is not AssessmentStatus.DRAFT:
        # Facts that now ask for less do not lower the bar an assessment was submitted or
        # accepted against: the next version is measured against the new target.
        return Retargeted(
            assessment.id, assessment.profile_id, target.profile_id, target.explain(), held=True
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
    moved = Retargeted(
        assessment.id,
        assessment.profile_id,
        target.profile_id,
        target.explain(),
        up=not lower,
    )
    assessment.profile_id = target.profile_id
    return moved


def apply_target(session: Session, actor: Actor, product: Product) -> list[Retargeted]:
    """Move each live assessment of the product (and of its supplier as a whole) to its target;
    tell the supplier once per product. When the target fell below a submitted or accepted
    assessment, which keeps its bar, say so too: national assessors reviewing it see the alert
    and can ask why the facts now ask for less."""
    live = session.scalars(
        select(Assessment)
        .where(
            Assessment.organisation_id == product.organisation_id,
            (Assessment.product_id == product.id) | Assessment.product_id.is_(None),
            Assessment.status != AssessmentStatus.SUPERSEDED,
        )
        .order_by(Assessment.id)
    ).all()
    changes = [
        change
        for assessment in live
        if (change := retarget(session, actor, assessment, product)) is not None
    ]
    moved = [c for c in changes if not c.held]
    held = [c for c in changes if c.held and not _told(session, product, c)]
    if moved:
        raise_target_alert(
            session, actor, product.organisation_id, product.id, PROFILE_RETARGETED, moved
        )
    if held:
        raise_target_alert(
            session, actor, product.organisation_id, product.id, PROFILE_TARGET_FELL, held
        )
    return moved


def _told(session: Session, product: Product, held: Retargeted) -> bool:
    """Whether an alert not yet acknowledged already says this assessment is held above this
    target: the supplier's next unrelated change of facts does not say it again."""
    details = session.scalars(
        select(Alert.detail).where(
            Alert.product_id == product.id,
            Alert.code == PROFILE_TARGET_FELL,
            Alert.acknowledged_at.is_(None),
        )
    )
    return any(
        held.assessment_id in d.get("assessments", ()) and d.get("to") == held.after
        for d in details
    )


def raise_target_alert(
    session: Session,
    actor: Actor,
    organisation_id: int,
    product_id: int | None,
    code: str,
    changes: list[Retargeted],
) -> None:
    raise_decision_alert(
        session,
        actor,
        code,
        organisation_id,
        product_id,
        {
            "assessments": [c.assessment_id for c in changes],
            "from": changes[0].before,
            "to": changes[0].after,
            "because": changes[0].because,
        },
    )


def retarget_estate(session: Session, actor: Actor, batch: int = 500) -> int:
    """Bring every supplier assessment still in play to its target: after the rules change (a
    new release reads undeclared facts as the most demanding, say), no supplier learns of a new
    bar only when a gate fails. Each product as `apply_target` does it, audited and alerted; the
    number of assessments moved. Under the append lock, so two runs at once move each once."""
    hold_append_lock(session)
    moved = 0
    after = 0
    while True:
        products = session.scalars(
            select(Product)
            .where(
                Product.id > after,
                Product.deleted_at.is_(None),
                Product.id.in_(
                    select(Assessment.product_id).where(
                        Assessment.status != AssessmentStatus.SUPERSEDED
                    )
                ),
            )
            .order_by(Product.id)
            .limit(batch)
        ).all()
        if not products:
            return moved
        for product in products:
            moved += len(apply_target(session, actor, product))
        after = products[-1].id
