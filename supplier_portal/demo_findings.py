"""The demo's tracked findings, so the Findings page and the dashboards' findings tab have
something to show on first sign-in: the check runs of the demo supplier's products and of the
demo force's deployed products are tracked in the order they ran (as the worker tracks each
run when it records it), and the demo supplier disputes one of its open findings, so the
national assessor has a dispute to decide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.findings.decisions import dispute
from posture.findings.tracking import track_check_run
from posture.findings.views import counts_open
from posture.storage.models import CheckRun, Product, TrackedFinding
from posture.storage.models.enums import Role
from supplier_portal.demo_risk import demo_principal

DISPUTE = (
    "Demo: this endpoint is a test harness behind the supplier's VPN, not the service the "
    "forces use; the live service was checked separately."
)


def seed_findings(
    session: Session, supplier_admin_email: str, deployed_product_ids: list[int]
) -> dict[str, Any]:
    supplier = demo_principal(session, supplier_admin_email, Role.SUPPLIER_ADMIN)
    (organisation_id,) = supplier.organisation_ids()
    own = session.scalars(select(Product.id).where(Product.organisation_id == organisation_id))
    product_ids = sorted({*own, *deployed_product_ids})
    runs = session.scalars(
        select(CheckRun)
        .where(CheckRun.product_id.in_(product_ids))
        .order_by(CheckRun.finished_at, CheckRun.id)
    ).all()
    for run in runs:
        track_check_run(session, run)
    today = max((run.finished_at for run in runs if run.finished_at), default=None)
    disputed = None
    if today is not None:
        disputed = session.scalar(
            select(TrackedFinding.id)
            .where(
                TrackedFinding.organisation_id == organisation_id,
                counts_open(today.date()),
            )
            .order_by(TrackedFinding.id)
            .limit(1)
        )
    if disputed is not None:
        dispute(session, supplier, disputed, DISPUTE)
    tracked = session.scalar(
        select(func.count())
        .select_from(TrackedFinding)
        .where(TrackedFinding.product_id.in_(product_ids))
    )
    return {"runs_tracked": len(runs), "findings_tracked": tracked, "disputed_finding": disputed}
