"""A real worker runs the daily listing re-check: a listed product whose newest TLS run has aged
past its gate's limit is flagged, with the gate's reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from kernel.clock import utcnow
from posture.audit import Actor
from posture.jobs.queue import build_queue
from posture.storage.engine import transaction
from posture.storage.models import CheckRun, LotApplication
from supplier_portal.procurement import lots
from supplier_portal.procurement.gates import Gates
from tests.peers.workers import running_worker
from tests.procurement.conftest import TODAY

RECHECK = "procurement.recheck_listings"


def test_a_listing_whose_newest_tls_run_is_too_old_is_flagged_by_the_worker(
    pw, backend_settings
) -> None:
    gates = Gates(min_pqc_readiness=60, min_api_score=70)
    with transaction(pw.sessions) as session:
        framework = lots.create_framework(
            session, pw.people["officer"], pw.orgs["home-office"], "PoliceTech COTS 2027"
        )
        lot = lots.add_lot(session, pw.people["officer"], framework.id, "saas", "SaaS", gates)
        application = lots.apply_product(
            session, pw.people["a1"], lot.id, pw.products["vault"], today=TODAY
        )
        for status in ("under_review", "listed"):
            lots.transition(session, pw.people["officer"], application.id, status, today=TODAY)
        application_id = application.id
    # Today, the product's newest TLS run is 40 days old and its API run a day old.
    now = utcnow()
    with transaction(pw.sessions) as session:
        for kind, age in (("tls", 40), ("api", 1)):
            session.execute(
                update(CheckRun)
                .where(CheckRun.product_id == pw.products["vault"], CheckRun.kind == kind)
                .values(finished_at=now - timedelta(days=age))
            )
    queue = build_queue(backend_settings)
    with running_worker(backend_settings):
        outcome = queue.run_schedule_now(RECHECK, "cli", Actor("cli")).get(
            blocking=True, timeout=120
        )
    assert (outcome["ran"], outcome["status"]) == (True, "succeeded"), outcome
    assert outcome["summary"]["newly_flagged"] == 1
    with pw.sessions() as session:
        flagged = session.get(LotApplication, application_id).flagged
    assert {f["gate"]: f["reason"] for f in flagged} == {
        "pqc_readiness": "post-quantum readiness 85 meets 60, but the newest tls run is 40 days "
        "old; this gate trusts runs up to 30 days old"
    }
