"""The demo's portfolios, so the portfolio, concentration and supply-chain views have something
to show on first sign-in. The demo force imports its record of its three deployments from a
spreadsheet through the import service (criticality, versions, contracts, owners and
sub-suppliers); the other forces' deployments of the same products are written as the seed
writes the rest of the estate, spread so that one product is deployed by thirty forces, one by
twelve and one by the demo force and one other, sharing a hosting sub-supplier. Each product's
open alerts then reach the forces that deploy it, as a new alert would."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.exports import to_csv
from posture.identity.permissions import Principal
from posture.portfolio.blast_radius import relay_to_deployers
from posture.portfolio.columns import PRODUCT_ID
from posture.portfolio.details import PortfolioDetails
from posture.portfolio.transfer import ImportReport, import_deployments
from posture.storage.models import Alert, Deployment, Organisation, Product
from posture.storage.models.enums import OrgKind

# How many forces deploy each of the demo force's three products (the demo force among them).
SPREAD = (30, 12, 2)
HOSTING = "Northgate Cloud Hosting"
SUB_SUPPLIERS = ([HOSTING, "Sentinel Identity Services"], [HOSTING], ["Ridgeway Data Centres"])
TIERS = ("mission-critical", "business-critical", "business-operational", "administrative")


def _import_own(
    session: Session, manager: Principal, force_id: int, product_ids: list[int], as_of: date
) -> ImportReport:
    rows = [
        {
            "product_id": product_id,
            "product_version": f"{5 + index}.{index}.0",
            "criticality": TIERS[index],
            "internet_facing": "yes" if index == 0 else "no",
            "contract_start": (as_of - timedelta(days=400)).isoformat(),
            "contract_end": (as_of + timedelta(days=180 + 200 * index)).isoformat(),
            "renewal_notice_days": "90",
            "owner": ["Head of Digital Forensics", "Head of ICT", "Business Change Lead"][index],
            "sub_suppliers": "; ".join(SUB_SUPPLIERS[index]),
        }
        for index, product_id in enumerate(product_ids)
    ]
    # The record's columns only: the use the force declared on deploying stays as it is.
    data = to_csv(pd.DataFrame(rows, columns=[PRODUCT_ID, *PortfolioDetails.model_fields]))
    return import_deployments(session, manager, force_id, data.encode())


def seed_portfolios(
    session: Session, manager: Principal, force_id: int, product_ids: list[int], as_of: date
) -> dict[str, int]:
    """The demo force's record of its deployments (imported) and the other forces' deployments
    of the same products; the counts of each."""
    report = _import_own(session, manager, force_id, product_ids, as_of)
    others = list(
        session.scalars(
            select(Organisation.id)
            .where(Organisation.kind == OrgKind.FORCE, Organisation.id != force_id)
            .order_by(Organisation.id)
        )
    )
    # Seeded: the same estate gives the same portfolios (a demo, not a secret).
    chooser = random.Random(force_id)  # noqa: S311
    added = 0
    for product_id, forces, subs in zip(product_ids, SPREAD, SUB_SUPPLIERS, strict=True):
        deploying = set(
            session.scalars(
                select(Deployment.organisation_id).where(Deployment.product_id == product_id)
            )
        )
        free = [f for f in others if f not in deploying]
        wanted = max(0, forces - len(deploying))
        for organisation_id in chooser.sample(free, min(wanted, len(free))):
            session.add(
                Deployment(
                    organisation_id=organisation_id,
                    product_id=product_id,
                    criticality=chooser.choice((*TIERS, None)),
                    classification="official",
                    sub_suppliers=list(subs),
                    contract_end=as_of + timedelta(days=chooser.randint(30, 900)),
                )
            )
            added += 1
    session.flush()
    # The products' own open alerts (raised for their suppliers), not copies of them.
    alerts = list(
        session.scalars(
            select(Alert)
            .join(Product, Product.id == Alert.product_id)
            .where(
                Alert.product_id.in_(product_ids),
                Alert.organisation_id == Product.organisation_id,
                Alert.acknowledged_at.is_(None),
            )
            .order_by(Alert.id)
        )
    )
    relayed = relay_to_deployers(session, alerts)
    return {
        "imported_rows": report.rows,
        "other_force_deployments": added,
        "alerts_relayed": len(relayed),
    }
