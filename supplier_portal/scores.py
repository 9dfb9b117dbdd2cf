"""Posture scores and explanations for the users allowed to see them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.scoring.service import explain_entity
from posture.storage.models import Organisation, Product


def _owner(session: Session, entity: str) -> int | None:
    kind, _, value = entity.partition(":")
    if kind == "product" and value.isdigit():
        product = session.get(Product, int(value))
        return product.organisation_id if product else None
    if kind == "org" and value.isdigit():
        organisation = session.get(Organisation, int(value))
        return organisation.id if organisation else None
    return None


def explain_score(
    session: Session, principal: Principal, entity: str, as_of: date
) -> dict[str, Any]:
    """`entity` is org:<id> or product:<id>; anything else is simply not found."""
    owner = _owner(session, entity)
    if owner is None:
        visible_organisations(principal, "score.read")
        raise NotFound("entity not found")
    require(principal, "score.read", owner, "entity")
    return explain_entity(session, entity, as_of)
