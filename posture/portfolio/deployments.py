"""Which supplier products a force deploys, and what its own use adds to their facts. A deployment
is what lets a force see a product's posture and evidence and file risks about it: without one,
another tenant's product stays out of reach. A force deploys only a product that is listed on a
framework lot or whose assessment a national assessor has accepted; the profile a deployment
needs is derived from the product's facts with the force's use added (posture.target_profiles),
and the force sees whether the product's assessment reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.orm import Session

from frameworks.deployment_facts import DeploymentFacts, ForceUse, SecurityClassification
from frameworks.loader import default_framework
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.portfolio.details import PortfolioDetails
from posture.storage.locks import hold_exclusive
from posture.storage.models import (
    Assessment,
    Deployment,
    FrameworkVersion,
    LotApplication,
    Organisation,
    PassportReliance,
    Product,
)
from posture.storage.models.enums import AssessmentStatus, ListingState, OrgKind
from posture.target_profiles import (
    TargetProfile,
    deployment_targets,
    facts_of,
    force_use_of,
    supplier_rules,
)


def live_deployment(session: Session, organisation_id: int, product_id: int) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.organisation_id == organisation_id,
            Deployment.product_id == product_id,
            Deployment.ended_at.is_(None),
        )
    )


def judged_facts(product: Product | None, deployment: Deployment | None) -> DeploymentFacts | None:
    """The facts a risk about a product is judged on: the product's own, with the owner's use
    added when the owner (a force) deploys it, whether the risk's subject is the product or the
    deployment: a use only adds, so a force cannot pick the subject that judges it more
    leniently."""
    if product is None:
        return None
    facts = facts_of(product)
    return facts if deployment is None else force_use_of(deployment).added_to(facts)


def judged_tier(facts: DeploymentFacts | None) -> tuple[SecurityClassification | None, bool]:
    """The classification and caveat a risk's appetite is read for. A risk about no product
    (the force itself, a supplier) is judged as OFFICIAL; a product that declares no
    classification gets the strictest appetite (frameworks/risk/appetite.py)."""
    if facts is None:
        return SecurityClassification.OFFICIAL, False
    return facts.classification, facts.sensitive_caveat


def subject_facts(
    session: Session, organisation_id: int, product: Product | None
) -> DeploymentFacts | None:
    """`judged_facts` for one risk owned by `organisation_id`."""
    deployment = (
        live_deployment(session, organisation_id, product.id) if product is not None else None
    )
    return judged_facts(product, deployment)


def deployed_product_ids(organisation_id: int) -> Select[tuple[int]]:
    """The products an organisation deploys now, as a subquery-ready select."""
    return select(Deployment.product_id).where(
        Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None)
    )


# Products a force may deploy: listed on a framework lot, or assessed and accepted nationally.
_LISTED = exists().where(
    LotApplication.product_id == Product.id, LotApplication.status == ListingState.LISTED.value
)
_ACCEPTED = exists().where(
    Assessment.product_id == Product.id, Assessment.status == AssessmentStatus.ACCEPTED
)
DEPLOYABLE = Product.deleted_at.is_(None) & (_LISTED | _ACCEPTED)
# Assessments that say what a product was assessed against (a draft says nothing yet).
ASSESSED = (AssessmentStatus.SUBMITTED, AssessmentStatus.UNDER_REVIEW, AssessmentStatus.ACCEPTED)


def deployable_products(
    session: Session, principal: Principal, organisation_id: int, search: str, limit: int
) -> dict[int, str]:
    """Products the force may deploy and does not yet, whose name holds `search`, by name; at
    most `limit`. A force cannot read the product catalogue: it finds products this way."""
    require(principal, "deployment.manage", organisation_id, "organisation")
    needle = search.strip()
    query = (
        select(Product.id, Product.name)
        .where(DEPLOYABLE, ~Product.id.in_(deployed_product_ids(organisation_id)))
        .order_by(Product.name, Product.id)
        .limit(limit)
    )
    if needle:
        query = query.where(Product.name.icontains(needle, autoescape=True))
    return {product_id: name for product_id, name in session.execute(query)}


def details_of(deployment: Deployment) -> PortfolioDetails:
    """The deployment's portfolio record, as stored (through PortfolioDetails, so valid)."""
    return PortfolioDetails.model_validate(
        {field: getattr(deployment, field) for field in PortfolioDetails.model_fields}
    )


def record_of(deployment: Deployment) -> dict[str, Any]:
    """What a deployment holds now, as the audit trail keeps it (dates as ISO text): what an
    import compares a row with and an export writes out."""
    return _recorded(force_use_of(deployment), details_of(deployment))


def _recorded(use: ForceUse, details: PortfolioDetails) -> dict[str, Any]:
    """What the audit trail keeps of a deployment (dates as ISO text)."""
    return {**use.model_dump(mode="json"), **details.model_dump(mode="json")}


def _store(deployment: Deployment, use: ForceUse, details: PortfolioDetails) -> None:
    # The use as its string values; the portfolio record as Python values (dates for dates).
    for field, value in {**use.model_dump(mode="json"), **details.model_dump()}.items():
        setattr(deployment, field, value)


def deploy_product(
    session: Session,
    principal: Principal,
    organisation_id: int,
    product_id: int,
    use: ForceUse | None = None,
    details: PortfolioDetails | None = None,
) -> Deployment:
    """Record that the force deploys the product, with what its use adds."""
    return put_deployment(session, principal, organisation_id, product_id, use, details)[0]


def put_deployment(
    session: Session,
    principal: Principal,
    organisation_id: int,
    product_id: int,
    use: ForceUse | None = None,
    details: PortfolioDetails | None = None,
    *,
    must_exist: bool = False,
) -> tuple[Deployment, bool]:
    """Deploy the product, or, when the force already does, replace what its use adds and its
    portfolio record (None keeps each). The deployment, and whether this call began it. With
    `must_exist`, only a change of a live deployment: one ended meanwhile is not begun again."""
    require(principal, "deployment.manage", organisation_id, "organisation")
    try:
        if use is not None:
            use.caveat_problem()
        if details is not None:
            details.record_problem()
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    if organisation.kind != OrgKind.FORCE:
        raise ValidationFailed("only a force deploys products")
    if session.get(Product, product_id) is None:
        raise NotFound("product not found")
    # Two changes of one deployment at once: the second waits and finds the first.
    hold_append_lock(session)
    hold_exclusive(session, f"deployment:{organisation_id}:{product_id}")
    existing = session.scalar(
        select(Deployment).where(
            Deployment.organisation_id == organisation_id, Deployment.product_id == product_id
        )
    )
    if existing is not None and existing.ended_at is None:
        # The force keeps its record of a product it runs even once the supplier withdraws it;
        # only a new deployment needs a product that may be deployed.
        _change(session, principal, existing, use, details)
        return existing, False
    if must_exist:
        raise NotFound("deployment not found")
    if session.scalar(select(Product.id).where(Product.id == product_id, DEPLOYABLE)) is None:
        # A force sees only listed or accepted products: any other is not there for it, and the
        # refusal must not say it exists (nor its name).
        raise NotFound("product not found")
    if existing is None:
        existing = Deployment(organisation_id=organisation_id, product_id=product_id)
        session.add(existing)
    use, details = use or ForceUse(), details or PortfolioDetails()
    _store(existing, use, details)
    existing.ended_at, existing.created_at = None, utcnow()
    existing.created_by_user_id = principal.user_id
    session.flush()
    record(
        session,
        actor_of(principal),
        "deployment.recorded",
        "deployment",
        existing.id,
        {"product_id": product_id, "after": _recorded(use, details)},
        organisation_id=organisation_id,
    )
    return existing, True


def _change(
    session: Session,
    principal: Principal,
    deployment: Deployment,
    use: ForceUse | None,
    details: PortfolioDetails | None,
) -> None:
    old_use, old_details = force_use_of(deployment), details_of(deployment)
    use, details = use or old_use, details or old_details
    before, after = _recorded(old_use, old_details), _recorded(use, details)
    if before == after:
        return
    _store(deployment, use, details)
    if use != old_use or details.product_version != old_details.product_version:
        # What a passport was relied on for has changed: the force relies on it again only once
        # the passport is checked against the new use and version.
        drop_reliance(session, principal, deployment, "the deployment's use or version changed")
    record(
        session,
        actor_of(principal),
        "deployment.changed",
        "deployment",
        deployment.id,
        {"product_id": deployment.product_id, "before": before, "after": after},
        organisation_id=deployment.organisation_id,
    )


def drop_reliance(
    session: Session, principal: Principal, deployment: Deployment, because: str
) -> bool:
    """End the deployment's reliance on a passport, if it has one, and say whether it had
    (posture.passport.reliance records one; the portfolio only ends it, so it needs nothing of
    the passports' rules)."""
    ended = session.execute(
        delete(PassportReliance).where(PassportReliance.deployment_id == deployment.id)
    )
    if ended.rowcount:
        record(
            session,
            actor_of(principal),
            "passport.reliance_ended",
            "deployment",
            deployment.id,
            {
                "deployment_id": deployment.id,
                "product_id": deployment.product_id,
                "because": because,
            },
            organisation_id=deployment.organisation_id,
        )
    return bool(ended.rowcount)


def end_deployment(
    session: Session, principal: Principal, organisation_id: int, product_id: int
) -> Deployment:
    require(principal, "deployment.manage", organisation_id, "organisation")
    deployment = live_deployment(session, organisation_id, product_id)
    if deployment is None:
        raise NotFound("deployment not found")
    deployment.ended_at = utcnow()
    drop_reliance(session, principal, deployment, "the deployment ended")
    record(
        session,
        actor_of(principal),
        "deployment.ended",
        "deployment",
        deployment.id,
        {"product_id": product_id},
        organisation_id=organisation_id,
    )
    return deployment


def list_deployments(
    session: Session, principal: Principal, organisation_id: int
) -> list[Deployment]:
    require(principal, "risk.read", organisation_id, "organisation")
    return list(
        session.scalars(
            select(Deployment)
            .where(Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None))
            .order_by(Deployment.id)
        )
    )


def deployed_product_names(
    session: Session, principal: Principal, organisation_id: int
) -> dict[int, str]:
    """The products the organisation deploys now, by id, with their names, oldest first."""
    require(principal, "risk.read", organisation_id, "organisation")
    rows = session.execute(
        select(Product.id, Product.name)
        .join(Deployment, Deployment.product_id == Product.id)
        .where(Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None))
        .order_by(Deployment.id)
    )
    return {product_id: name for product_id, name in rows}


@dataclass(frozen=True)
class DeploymentStanding:
    """A deployment's required profile beside the profile its product was last assessed against
    (the newest submitted, reviewed or accepted version under the same framework version)."""

    product_id: int
    product: str
    use: ForceUse
    details: PortfolioDetails
    required: TargetProfile
    assessed_profile: str | None
    assessment_status: AssessmentStatus | None
    # The framework's supplier profiles, least demanding first.
    order: tuple[str, ...]

    @property
    def reached(self) -> bool:
        """The product was assessed against the profile the deployment needs, or a stricter one."""
        if self.assessed_profile not in self.order:
            return False
        return self.order.index(self.assessed_profile) >= self.order.index(self.required.profile_id)


def deployment_standings(
    session: Session, principal: Principal, organisation_id: int
) -> list[DeploymentStanding]:
    """Each live deployment of the organisation, oldest first, with the profile it needs under
    the current framework and the one its product was assessed against, in three queries."""
    require(principal, "risk.read", organisation_id, "organisation")
    loaded = default_framework()
    order = tuple(supplier_rules(loaded).order)
    rows = session.execute(
        select(Deployment, Product)
        .join(Product, Product.id == Deployment.product_id)
        .where(Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None))
        .order_by(Deployment.id)
    ).all()
    assessed: dict[int, tuple[str, AssessmentStatus]] = {}
    for product_id, profile_id, status in session.execute(
        select(Assessment.product_id, Assessment.profile_id, Assessment.status)
        .join(FrameworkVersion, FrameworkVersion.id == Assessment.framework_version_id)
        .where(
            Assessment.product_id.in_([product.id for _, product in rows]),
            Assessment.status.in_(ASSESSED),
            FrameworkVersion.framework_id == loaded.framework.framework_id,
            FrameworkVersion.version == loaded.framework.version,
        )
        .order_by(Assessment.version)
    ):
        assessed[product_id] = (profile_id, AssessmentStatus(status))  # the newest wins
    required = deployment_targets(session, loaded, [(d, p) for d, p in rows])
    standings = []
    for (deployment, product), needed in zip(rows, required, strict=True):
        profile_id, status = assessed.get(product.id, (None, None))
        standings.append(
            DeploymentStanding(
                product_id=product.id,
                product=product.name,
                use=force_use_of(deployment),
                details=details_of(deployment),
                required=needed,
                assessed_profile=profile_id,
                assessment_status=status,
                order=order,
            )
        )
    return standings
