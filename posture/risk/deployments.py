"""Which supplier products a force deploys. A deployment is what lets a force see a product's
posture and evidence and file risks about it: without one, another tenant's product stays out
of reach."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.storage.locks import hold_exclusive
from posture.storage.models import Deployment, Organisation, Product
from posture.storage.models.enums import OrgKind


def live_deployment(session: Session, organisation_id: int, product_id: int) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.organisation_id == organisation_id,
            Deployment.product_id == product_id,
            Deployment.ended_at.is_(None),
        )
    )


def deployed_product_ids(organisation_id: int) -> Select[tuple[int]]:
    """The products an organisation deploys now, as a subquery-ready select."""
    return select(Deployment.product_id).where(
        Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None)
    )


def deploy_product(
    session: Session, principal: Principal, organisation_id: int, product_id: int
) -> Deployment:
    """Record that the force deploys the product; deploying it again is no new record."""
    require(principal, "deployment.manage", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    if organisation.kind != OrgKind.FORCE:
        raise ValidationFailed("only a force deploys products")
    product = session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound("product not found")
    # Two deployments of one product at once: the second waits and finds the first.
    hold_append_lock(session)
    hold_exclusive(session, f"deployment:{organisation_id}:{product_id}")
    existing = session.scalar(
        select(Deployment).where(
            Deployment.organisation_id == organisation_id, Deployment.product_id == product_id
        )
    )
    if existing is not None and existing.ended_at is None:
        return existing
    if existing is None:
        existing = Deployment(organisation_id=organisation_id, product_id=product_id)
        session.add(existing)
    existing.ended_at, existing.created_at = None, utcnow()
    existing.created_by_user_id = principal.user_id
    session.flush()
    record(
        session,
        actor_of(principal),
        "deployment.recorded",
        "deployment",
        existing.id,
        {"product_id": product_id},
        organisation_id=organisation_id,
    )
    return existing


def end_deployment(
    session: Session, principal: Principal, organisation_id: int, product_id: int
) -> Deployment:
    require(principal, "deployment.manage", organisation_id, "organisation")
    deployment = live_deployment(session, organisation_id, product_id)
    if deployment is None:
        raise NotFound("deployment not found")
    deployment.ended_at = utcnow()
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
