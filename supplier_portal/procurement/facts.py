"""Gather what the gates look at for a product: posture, check scores, certificates, locations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.catalogue import CheckKind, post_quantum_kinds
from frameworks.loader import default_framework
from posture.check_runs import latest_run_ids
from posture.risk.exceptions import active_exceptions
from posture.scoring.service import score_estate
from posture.storage.models import Assessment, CheckRun, Product
from posture.target_profiles import product_target, supplier_rules
from supplier_portal.procurement.gates import ProductFacts


def _latest_runs(
    session: Session, product_id: int
) -> tuple[dict[str, float | None], dict[str, datetime]]:
    """Each kind's newest run's score (None when that run could not assess the product), and
    when that run finished."""
    latest = latest_run_ids(CheckRun.product_id == product_id)
    rows = session.execute(
        select(CheckRun.kind, CheckRun.score, CheckRun.finished_at).where(CheckRun.id.in_(latest))
    ).all()
    scores = {str(kind): score for kind, score, _ in rows}
    finished = {str(kind): moment for kind, _, moment in rows if moment is not None}
    return scores, finished


def product_facts(session: Session, product: Product, today: date) -> ProductFacts:
    scores = score_estate(session, today, entity=f"product:{product.id}")
    band = scores.band[0] if scores.subjects else None
    posture = float(scores.score[0]) if scores.subjects else None
    scored = scores.subjects[0].assessment_id if scores.subjects else None
    scored_profile = (
        session.scalar(select(Assessment.profile_id).where(Assessment.id == scored))
        if scored is not None
        else None
    )
    checks, checked_at = _latest_runs(session, product.id)
    pq_kinds = post_quantum_kinds()
    pqc = [v for k, v in checks.items() if k in pq_kinds]
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
        # An endpoint or artefact that could not be assessed proves nothing: no readiness.
        pqc_readiness=min(pqc) if pqc and None not in pqc else None,  # type: ignore[type-var]
        api_score=checks.get(CheckKind.API),
        certifications=certificates,
        data_locations=tuple(product.data_locations or ()),
        target_profile=product_target(session, default_framework(), product).profile_id,
        scored_profile=scored_profile,
        profile_order=tuple(supplier_rules(default_framework()).order),
        exceptions=tuple(view.summary() for view in active_exceptions(session, product.id, today)),
        checked_at=checked_at,
    )
