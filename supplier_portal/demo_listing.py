"""The demo's framework lot: the products its force deploys are listed on it through the same
services a procurement officer and each product's supplier admin use, since a force deploys
only a listed or accepted product (posture/portfolio/deployments.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal
from posture.storage.models import (
    Lot,
    LotApplication,
    Membership,
    ProcurementFramework,
    Product,
    User,
)
from posture.storage.models.enums import ListingState, Role
from supplier_portal.procurement import lots
from supplier_portal.procurement.gates import Gates

FRAMEWORK_TITLE = "Policing digital services (demo)"
LOT_KEY = "in-service"
LOT_TITLE = "Products in service with forces"


def _first_user(session: Session, role: Role, organisation_id: int | None = None) -> Principal:
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == role)
        .order_by(User.id)
        .limit(1)
    )
    if organisation_id is not None:
        query = query.where(Membership.organisation_id == organisation_id)
    user = session.scalar(query)
    if user is None:
        raise LookupError(f"no {role.value} user in the demo estate to list products")
    return principal_for(session, user)


def list_products(session: Session, product_ids: list[int], as_of: date) -> int:
    """List the products on the demo lot (made on first use, with no gates); the lot's id. A
    product already applied to it is left as it is."""
    officer = _first_user(session, Role.PROCUREMENT_OFFICER)
    (home,) = sorted(officer.organisation_ids())[:1]
    framework = session.scalar(
        select(ProcurementFramework).where(ProcurementFramework.title == FRAMEWORK_TITLE)
    ) or lots.create_framework(
        session, officer, home, FRAMEWORK_TITLE, "Products forces in the demo estate deploy."
    )
    lot = session.scalar(
        select(Lot).where(Lot.framework_id == framework.id, Lot.key == LOT_KEY)
    ) or lots.add_lot(session, officer, framework.id, LOT_KEY, LOT_TITLE, Gates())
    applied = set(
        session.scalars(select(LotApplication.product_id).where(LotApplication.lot_id == lot.id))
    )
    for product_id in [p for p in product_ids if p not in applied]:
        product = session.get(Product, product_id)
        if product is None:
            raise LookupError(f"no product {product_id} to list")
        admin = _first_user(session, Role.SUPPLIER_ADMIN, product.organisation_id)
        application = lots.apply_product(session, admin, lot.id, product_id, as_of)
        for status in (ListingState.UNDER_REVIEW, ListingState.LISTED):
            lots.transition(session, officer, application.id, status.value, today=as_of)
    return lot.id
