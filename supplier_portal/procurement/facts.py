"""Gather what the gates look at for a product: posture, check scores, certificates, locations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.catalogue import CheckKind, post_quantum_kinds
from posture.scoring.service import score_estate
from posture.storage.models import CheckRun, Product
from posture.storage.models.enums import RunStatus
from supplier_portal.procurement.gates import ProductFacts


def _latest_scores(session: Session, product_id: int) -> dict[str, float | None]:
    latest = (
        select(CheckRun.kind, func.max(CheckRun.id).label("run_id"))
        .where(CheckRun.product_id == product_id, CheckRun.status == RunStatus.SUCCEEDED)
        .group_by(CheckRun.kind)
        .subquery()
    )
    rows = session.execute(
        select(CheckRun.kind, CheckRun.score).join(latest, latest.c.run_id == CheckRun.id)
    ).all()
    return {str(kind): score for kind, score in rows}


def product_facts(session: Session, product: Product, today: date) -> ProductFacts:
    scores = score_estate(session, today, entity=f"product:{product.id}")
    band = scores.band[0] if scores.subjects else None
    posture = float(scores.score[0]) if scores.subjects else None
    checks = _latest_scores(session, product.id)
    pq_kinds = post_quantum_kinds()
    pqc = [v for k, v in checks.items() if k in pq_kinds and v is not None]
    certificates = {}
    for held in product.certifications or []:
        try:
            certificates[str(held["scheme"])] = date.fromisoformat(str(held["expires"]))
        except (KeyError, ValueError):
            continue
    return ProductFacts(
        product_id=product.id,
        posture_band=band,
        posture_score=posture,
        # The weakest endpoint or artefact decides the product's post-quantum risk.
        pqc_readiness=min(pqc) if pqc else None,
        api_score=checks.get(CheckKind.API),
        certifications=certificates,
        data_locations=tuple(product.data_locations or ()),
    )
