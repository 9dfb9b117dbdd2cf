"""Arranges what a force may deploy: a product listed on a framework lot, as an officer's
listing decision leaves it (the gates and the decision are tested in tests/procurement)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.storage.models import Lot, LotApplication, ProcurementFramework, Product
from posture.storage.models.enums import ListingState


def list_product(session: Session, product_id: int) -> None:
    """List the product, unless it is listed already."""
    listed = session.scalar(
        select(LotApplication.id).where(
            LotApplication.product_id == product_id,
            LotApplication.status == ListingState.LISTED.value,
        )
    )
    if listed is not None:
        return
    product = session.get(Product, product_id)
    assert product is not None, product_id
    framework = ProcurementFramework(
        organisation_id=product.organisation_id, title=f"Listing for product {product_id}"
    )
    session.add(framework)
    session.flush()
    lot = Lot(framework_id=framework.id, key="all", title="All products")
    session.add(lot)
    session.flush()
    session.add(
        LotApplication(
            lot_id=lot.id,
            product_id=product_id,
            organisation_id=product.organisation_id,
            status=ListingState.LISTED.value,
            eligible=True,
        )
    )
    session.flush()
