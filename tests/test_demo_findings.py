"""The demo shows the findings lifecycle on first sign-in: the demo supplier's and the demo
force's products have tracked findings from their check runs, the supplier has disputed one for
the national assessor to decide, and the daily sweeps have run once, as a worker would."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.demo.seed import seed_demo
from posture.findings.views import disputes_to_decide, product_findings
from posture.storage.engine import transaction
from posture.storage.models import Product, TrackedFinding
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import FindingStatus
from supplier_portal.demo_findings import seed_findings
from supplier_portal.demo_risk import demo_principal, seed_risk_register
from tests.cli import assure, cli_env

AS_OF = date(2026, 11, 1)


def test_the_demo_tracks_findings_and_leaves_a_dispute_to_decide(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    with transaction(sessions) as session:
        result = seed_demo(session, 20, seed=2026, as_of=AS_OF, with_logins=True)
        emails = {login.role: login.email for login in result.logins}
        register = seed_risk_register(session, emails["force_assessor"], emails["siro"], AS_OF)
        assert register is not None
        made = seed_findings(session, emails["supplier_admin"], register["product_ids"])
    assert made["findings_tracked"] > 0
    assert made["disputed_finding"] is not None
    with sessions() as session:
        supplier = demo_principal(session, emails["supplier_admin"], Role.SUPPLIER_ADMIN)
        (organisation_id,) = supplier.organisation_ids()
        own = session.scalars(
            select(Product.id).where(Product.organisation_id == organisation_id)
        ).all()
        shown = [
            row for product_id in own for row in product_findings(session, supplier, product_id)
        ]
        national = demo_principal(session, emails["national_assessor"], Role.NATIONAL_ASSESSOR)
        to_decide = disputes_to_decide(session, national)
        disputed = session.get(TrackedFinding, made["disputed_finding"])
    assert shown, "the supplier sees its open findings"
    assert all(row.due_at is not None for row in shown)
    assert disputed is not None
    assert disputed.status is FindingStatus.DISPUTED
    assert [row.id for row in to_decide] == [made["disputed_finding"]]


def test_a_seeded_estate_with_logins_has_run_the_daily_sweeps_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = cli_env(tmp_path / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure(
        "demo", "seed", "--suppliers", "5", "--with-logins", "--json", env=env, timeout=300
    )
    assert seeded.returncode == 0, seeded.stderr
    out = json.loads(seeded.stdout)
    assert {name: run["status"] for name, run in out["schedules"].items()} == {
        "expiry.reminders": "succeeded",
        "findings.sla_breaches": "succeeded",
    }
    assert out["findings"]["findings_tracked"] > 0
    listed = json.loads(assure("schedule", "list", "--json", env=env).stdout)
    last = {row["name"]: row["last"] for row in listed["schedules"]}
    assert last["expiry.reminders"]["trigger"] == "cli"
    assert last["posture.daily_snapshot"] is None
