"""Concentration risk across policing: the products, suppliers and fourth parties (the products'
sub-suppliers) that many forces depend on, weighted by how critical each deployment is to its
force and by the data the force puts in it (posture/data/portfolio.yaml), beside each one's
current band and open findings. One failure of a heavily concentrated supplier reaches every
force that relies on it; this is where the national view sees that before it happens.

A deployment's weight is its criticality tier's weight times its data's weight; what is
undeclared weighs as the most demanding (the first tier, the most sensitive data). Bands are
each product's newest under the default framework (posture.portfolio.bands); open findings are
those of each product's newest finished check run of each kind. Forces are counted, never
named: which force runs what is its own."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from posture.check_runs import latest_run_ids
from posture.identity.permissions import PermissionDenied, Principal, visible_organisations
from posture.portfolio.bands import framework_version_id, product_bands
from posture.portfolio.details import name_key
from posture.portfolio.estate_rows import weighed_deployments, weight_of
from posture.portfolio.policy import portfolio_policy
from posture.portfolio.weights import Weigher
from posture.storage.models import (
    CheckRun,
    Deployment,
    Finding,
    Organisation,
    PostureSnapshot,
    Product,
)
from posture.storage.models.enums import SubjectKind

PERMISSION = "posture.dashboard"
PRODUCT_COLUMNS = [
    "product_id",
    "product",
    "supplier",
    "forces",
    "weight",
    "band",
    "open_findings",
]
SUPPLIER_COLUMNS = ["supplier_id", "supplier", "products", "forces", "weight", "worst_band",
                    "open_findings"]  # fmt: skip
FOURTH_PARTY_COLUMNS = ["fourth_party", "products", "forces", "weight"]


@dataclass(frozen=True)
class Concentration:
    products: pd.DataFrame
    suppliers: pd.DataFrame
    fourth_parties: pd.DataFrame


def concentration(
    session: Session, principal: Principal, band_order: tuple[str, ...]
) -> Concentration:
    """Every deployed product, supplier and fourth party, heaviest first (then most forces).
    `band_order` is the scoring policy's bands, best first, for a supplier's worst band."""
    require_estate_view(principal)
    return estate_concentration(session, band_order)


def require_estate_view(principal: Principal) -> None:
    """Only a role that sees the whole estate reads concentration: counting forces is only true
    of the whole estate, and a partial view would understate it."""
    if visible_organisations(principal, PERMISSION) is not None:
        raise PermissionDenied("the concentration view is for roles that see the whole estate")


def concentration_marker(session: Session) -> tuple[Any, ...]:
    """What the view is built from, in one cheap read: when any of it changes, so does this (a
    cache of the view is keyed by it)."""
    deployments = session.execute(
        select(
            func.count(Deployment.id),
            func.max(Deployment.id),
            func.max(Deployment.created_at),
            func.max(Deployment.updated_at),
            func.max(Deployment.ended_at),
        )
    ).one()
    snapshots = session.scalar(
        select(func.max(PostureSnapshot.taken_at)).where(
            PostureSnapshot.subject_kind == SubjectKind.PRODUCT
        )
    )
    runs = session.scalar(select(func.max(CheckRun.id)))
    names = session.scalar(select(func.max(Product.updated_at)))
    return (*deployments, snapshots, runs, names)


def estate_concentration(session: Session, band_order: tuple[str, ...]) -> Concentration:
    """concentration, unguarded: for a caller that has checked the reader's reach."""
    live = Deployment.ended_at.is_(None)
    deployed = select(Deployment.product_id).where(live).distinct()
    rows = session.execute(
        weighed_deployments(
            Deployment.sub_suppliers, Product.organisation_id.label("supplier_id")
        ).where(live)
    ).all()
    names = {
        product_id: (name, supplier_id)
        for product_id, name, supplier_id in session.execute(
            select(Product.id, Product.name, Product.organisation_id).where(
                Product.id.in_(deployed)
            )
        )
    }
    suppliers = {
        supplier_id: name
        for supplier_id, name in session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_(select(Product.organisation_id).where(Product.id.in_(deployed)))
            )
        )
    }
    _, bands = product_bands(session, framework_version_id(session, default_framework()), deployed)
    findings = _open_findings(session, deployed)
    weigher = Weigher(portfolio_policy())

    by_product: dict[int, _Tally] = defaultdict(_Tally)
    by_supplier: dict[int, _Tally] = defaultdict(_Tally)
    by_fourth: dict[str, _Tally] = {}
    for row in rows:
        weighs = weight_of(weigher, row)
        by_product[row.product_id].add(row.organisation_id, row.product_id, weighs)
        by_supplier[row.supplier_id].add(row.organisation_id, row.product_id, weighs)
        for name in row.sub_suppliers or []:
            tally = by_fourth.setdefault(name_key(name), _Tally(name))
            tally.add(row.organisation_id, row.product_id, weighs)

    product_frame = pd.DataFrame(
        [
            {
                "product_id": product_id,
                "product": names[product_id][0],
                "supplier": suppliers.get(names[product_id][1], ""),
                "forces": tally.deployments,
                "weight": tally.weight,
                "band": bands.get(product_id),
                "open_findings": findings.get(product_id, 0),
            }
            for product_id, tally in by_product.items()
        ],
        columns=PRODUCT_COLUMNS,
    )
    rank = {band: i for i, band in enumerate(band_order)}
    supplier_rows = []
    for supplier_id, tally in by_supplier.items():
        known = [bands[p] for p in tally.products if bands.get(p) in rank]
        supplier_rows.append(
            {
                "supplier_id": supplier_id,
                "supplier": suppliers.get(supplier_id, ""),
                "products": len(tally.products),
                "forces": len(tally.forces),
                "weight": tally.weight,
                "worst_band": max(known, key=rank.__getitem__) if known else None,
                "open_findings": sum(findings.get(p, 0) for p in tally.products),
            }
        )
    fourth_rows = [
        {
            "fourth_party": tally.name,
            "products": len(tally.products),
            "forces": len(tally.forces),
            "weight": tally.weight,
        }
        for tally in by_fourth.values()
    ]
    return Concentration(
        products=_ranked(product_frame, "product_id"),
        suppliers=_ranked(pd.DataFrame(supplier_rows, columns=SUPPLIER_COLUMNS), "supplier_id"),
        fourth_parties=_ranked(
            pd.DataFrame(fourth_rows, columns=FOURTH_PARTY_COLUMNS), "fourth_party"
        ),
    )


@dataclass
class _Tally:
    """What relies on one product, supplier or fourth party: deployments, the forces and
    products behind them (each once), and their summed weight."""

    name: str = ""
    deployments: int = 0
    weight: int = 0
    forces: set[int] = field(default_factory=set)
    products: set[int] = field(default_factory=set)

    def add(self, force: int, product: int, weight: int) -> None:
        self.deployments += 1
        self.weight += weight
        self.forces.add(force)
        self.products.add(product)


def _ranked(frame: pd.DataFrame, tie: str) -> pd.DataFrame:
    return frame.sort_values(
        ["weight", "forces", tie], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


def _open_findings(session: Session, product_ids: Select[tuple[int]]) -> dict[int, int]:
    """Findings of each product's newest finished run of each kind."""
    latest = latest_run_ids(CheckRun.product_id.in_(product_ids)).subquery()
    return dict(
        session.execute(
            select(CheckRun.product_id, func.count(Finding.id))
            .join(Finding, Finding.check_run_id == CheckRun.id)
            .where(CheckRun.id.in_(select(latest.c.id)))
            .group_by(CheckRun.product_id)
        ).all()
    )
