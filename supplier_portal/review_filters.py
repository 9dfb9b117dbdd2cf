"""Choices for the review queue's filters: the suppliers and products that have answers waiting
for this reviewer, found by name, never listed estate-wide (10,000 suppliers fit no menu)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, func, select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal
from posture.storage.models import Answer, Assessment, Organisation, Product
from supplier_portal.review_queue import QueueQuery, queued_conditions

MAX_CHOICES = 50


def _escaped_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _has_waiting(tie: ColumnElement[bool], conditions: list[ColumnElement[bool]]) -> Exists:
    """Whether the organisation or product `tie` joins assessments to has an answer waiting."""
    return (
        select(Answer.id)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(tie, *conditions)
        .exists()
    )


def waiting_suppliers(
    session: Session, principal: Principal, name_contains: str = "", limit: int = MAX_CHOICES
) -> list[tuple[int, str]]:
    """(organisation id, name) of organisations with answers waiting, by name, at most `limit`."""
    conditions = queued_conditions(principal, QueueQuery())
    query = (
        select(Organisation.id, Organisation.name)
        .where(_has_waiting(Assessment.organisation_id == Organisation.id, conditions))
        .order_by(Organisation.name, Organisation.id)
        .limit(max(1, min(limit, MAX_CHOICES)))
    )
    text = name_contains.strip()[:100]
    if text:
        query = query.where(
            func.lower(Organisation.name).like(_escaped_like(text.lower()), escape="\\")
        )
    return [(organisation_id, name) for organisation_id, name in session.execute(query)]


def waiting_products(
    session: Session, principal: Principal, organisation_id: int
) -> list[tuple[int, str]]:
    """(product id, name) of one organisation's products with answers waiting."""
    conditions = queued_conditions(principal, QueueQuery(organisation_id=organisation_id))
    query = (
        select(Product.id, Product.name)
        .where(_has_waiting(Assessment.product_id == Product.id, conditions))
        .order_by(Product.name, Product.id)
        .limit(MAX_CHOICES * 4)
    )
    return [(product_id, name) for product_id, name in session.execute(query)]
