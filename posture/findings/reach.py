"""Whose tracked findings a principal may see or act on: a supplier its own products', a force
the products it deploys, an assessor with an estate-wide grant every product's. A finding out of
reach is "not found", exactly like one that does not exist."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.storage.models import Deployment, TrackedFinding


def deployed_by(organisation_ids: set[int]) -> ColumnElement[bool]:
    """Findings of a product one of these organisations deploys now."""
    deployed = select(Deployment.product_id).where(
        Deployment.organisation_id.in_(organisation_ids), Deployment.ended_at.is_(None)
    )
    return TrackedFinding.product_id.in_(deployed)


def finding_reach(principal: Principal, permission: str) -> ColumnElement[bool] | None:
    """The condition on tracked findings the principal may use under `permission`; None for
    every finding. PermissionDenied when no role grants it at all."""
    visible = visible_organisations(principal, permission)
    if visible is None:
        return None
    return or_(TrackedFinding.organisation_id.in_(visible), deployed_by(visible))


def load_finding(
    session: Session, principal: Principal, finding_id: int, permission: str
) -> TrackedFinding:
    reach = finding_reach(principal, permission)
    query = select(TrackedFinding).where(TrackedFinding.id == finding_id)
    found = session.scalar(query if reach is None else query.where(reach))
    if found is None:
        raise NotFound("finding not found")
    return found
