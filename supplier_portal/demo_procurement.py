"""The demo's procurement: a framework with two lots, products applied by their suppliers and
listed by the officer where their gates pass, and a buyer's shortlist saved twice, so the
listings and shortlist pages open on real work. Everything goes through the services, as the
people concerned would do it on those pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.identity.accounts import principal_for
from posture.storage.models import Membership, Product, User
from posture.storage.models.enums import Role
from supplier_portal.procurement import lots, shortlists
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.lifecycle import ListingState
from supplier_portal.vocabulary import DataLocation

FRAMEWORK_TITLE = "Policing digital services 2026"
# (key, title, product category, gates): the second lot asks more, so some applications fail.
LOTS: tuple[tuple[str, str, str, Gates], ...] = (
    (
        "evidence",
        "Digital evidence and exhibits",
        "digital_evidence",
        Gates(min_posture_band="C", allowed_data_locations=[DataLocation.UK]),
    ),
    (
        "records",
        "Records and case files",
        "records_management",
        Gates(min_posture_band="B", allowed_data_locations=[DataLocation.UK, DataLocation.EEA]),
    ),
)
APPLICATIONS_PER_LOT = 12


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise ValidationFailed(f"no demo user {email}")
    return user


def _supplier_admin(session: Session, organisation_id: int) -> User:
    return session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role == Role.SUPPLIER_ADMIN,
        )
        .order_by(User.id)
        .limit(1)
    ).one()


def _apply_and_decide(
    session: Session, officer: Any, lot_id: int, category: str, today: date
) -> tuple[int, int]:
    """Products of the lot's category apply; the officer lists the eligible ones and leaves
    the rest applied, their failed gates on record. Returns (applied, listed)."""
    products = session.scalars(
        select(Product)
        .where(Product.category == category, Product.deleted_at.is_(None))
        .order_by(Product.id)
        .limit(APPLICATIONS_PER_LOT)
    ).all()
    listed = 0
    for product in products:
        supplier = principal_for(session, _supplier_admin(session, product.organisation_id))
        application = lots.apply_product(session, supplier, lot_id, product.id, today)
        if application.eligible:
            for status in (ListingState.UNDER_REVIEW, ListingState.LISTED):
                lots.transition(session, officer, application.id, status.value, today=today)
            listed += 1
    return len(products), listed


def _shortlist(session: Session, officer: Any, home: int, lot_id: int, today: date) -> list[int]:
    """A buyer's requirement on the evidence lot, saved, then saved again with a lower price
    from one supplier, so the two versions differ."""
    form = shortlists.RequirementForm(
        title="Force evidence platform refresh",
        lot_ids=[lot_id],
        criteria=[
            shortlists.WeightedCriterion(key="security_posture", weight=40),
            shortlists.WeightedCriterion(key="pqc_readiness", weight=20),
            shortlists.WeightedCriterion(key="price", weight=30),
            shortlists.WeightedCriterion(key="social_value", weight=10),
        ],
    )
    requirement = shortlists.create_requirement(session, officer, home, form)
    listed = sorted(a.product_id for a in lots.listings(session, officer, [lot_id]))
    inputs = {
        product_id: shortlists.ProductInputs(
            price=90_000 + 7_500 * (index % 5), social_value=40 + 10 * (index % 4)
        )
        for index, product_id in enumerate(listed)
    }
    first = shortlists.save_shortlist(session, officer, requirement.id, inputs, today)
    if listed:
        last = listed[-1]
        inputs[last] = inputs[last].model_copy(update={"price": 60_000})
    second = shortlists.save_shortlist(session, officer, requirement.id, inputs, today)
    return [first.id, second.id]


def seed_procurement(session: Session, officer_email: str, today: date) -> dict[str, Any]:
    officer = principal_for(session, _user(session, officer_email))
    home = sorted(officer.organisation_ids())[0]
    framework = lots.create_framework(
        session,
        officer,
        home,
        FRAMEWORK_TITLE,
        "Commercial off-the-shelf products for forces, gated on assured posture.",
    )
    result: dict[str, Any] = {"framework_id": framework.id, "lots": {}}
    for key, title, category, gates in LOTS:
        lot = lots.add_lot(session, officer, framework.id, key, title, gates)
        applied, listed = _apply_and_decide(session, officer, lot.id, category, today)
        result["lots"][key] = {"lot_id": lot.id, "applications": applied, "listings": listed}
    evidence_lot = result["lots"]["evidence"]["lot_id"]
    result["shortlist_versions"] = _shortlist(session, officer, home, evidence_lot, today)
    return result
