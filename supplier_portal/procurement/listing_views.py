"""Frameworks, lots and applications as people read them: by name (framework, lot, product,
supplier), with the moves the reader may make, never by the ids the tables join on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal, allowed, visible_organisations
from posture.storage.models import Lot, Organisation, ProcurementFramework, Product
from supplier_portal.procurement.lifecycle import ListingState, listing_lifecycle
from supplier_portal.procurement.lots import listings, visible_applications

# Who may make a move, as the permission that lets them (lifecycle data names the mover).
MOVER_PERMISSION = {"officer": "procurement.manage", "supplier": "procurement.apply"}


def state_words(state: str) -> str:
    return state.replace("_", " ")


@dataclass(frozen=True)
class LotChoice:
    id: int
    framework: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.framework}: {self.title}"


def lot_choices(session: Session, principal: Principal) -> list[LotChoice]:
    """Every lot, named with its framework (two frameworks may both have a lot called "SaaS")."""
    visible_organisations(principal, "listing.view")
    rows = session.execute(
        select(Lot.id, ProcurementFramework.title, Lot.title)
        .join(ProcurementFramework, ProcurementFramework.id == Lot.framework_id)
        .order_by(ProcurementFramework.title, Lot.title, Lot.id)
    )
    return [LotChoice(lot_id, framework, title) for lot_id, framework, title in rows]


@dataclass(frozen=True)
class ApplicationView:
    id: int
    lot: str  # "Framework: Lot"
    product: str
    supplier: str
    status: str
    eligible: bool
    failed_gates: str
    flagged: str
    applied_at: datetime
    moves: tuple[str, ...]  # states the reader may move it to

    @property
    def label(self) -> str:
        return f"{self.product} ({self.supplier}) on {self.lot}: {state_words(self.status)}"


def moves_for(principal: Principal, status: str, organisation_id: int) -> tuple[str, ...]:
    """The states this reader may move an application in `status` to: officers make the
    officer's moves, the product's supplier the supplier's."""
    lifecycle = listing_lifecycle()
    return tuple(
        to.value
        for to, mover in lifecycle.transitions.get(ListingState(status), {}).items()
        if allowed(principal, MOVER_PERMISSION[mover], organisation_id)
    )


def application_views(session: Session, principal: Principal) -> list[ApplicationView]:
    """The applications the reader may see (visible_applications decides), by name."""
    applications = visible_applications(session, principal)
    lots = {choice.id: choice.label for choice in lot_choices(session, principal)}
    products = _product_names(session, {a.product_id for a in applications})
    return [
        ApplicationView(
            id=a.id,
            lot=lots.get(a.lot_id, "a removed lot"),
            product=products[a.product_id][0],
            supplier=products[a.product_id][1],
            status=a.status,
            eligible=a.eligible,
            failed_gates="; ".join(
                f"{g['gate'].replace('_', ' ')}: {g['reason']}"
                for g in a.eligibility
                if not g["passed"]
            ),
            flagged="; ".join(g["gate"].replace("_", " ") for g in a.flagged or []),
            applied_at=a.applied_at,
            moves=moves_for(principal, a.status, a.organisation_id),
        )
        for a in applications
    ]


def _product_names(session: Session, product_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Product id -> (product name, supplier name)."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Product.id, Product.name, Organisation.name)
        .join(Organisation, Organisation.id == Product.organisation_id)
        .where(Product.id.in_(product_ids))
    )
    return {product_id: (name, supplier) for product_id, name, supplier in rows}


def listed_products(
    session: Session, principal: Principal, lot_ids: list[int]
) -> dict[int, tuple[str, str]]:
    """Products listed on any of `lot_ids`: id -> (product name, supplier name), by name."""
    listed = {a.product_id for a in listings(session, principal, lot_ids)}
    names = _product_names(session, listed)
    return dict(sorted(names.items(), key=lambda item: (item[1][0].casefold(), item[0])))
