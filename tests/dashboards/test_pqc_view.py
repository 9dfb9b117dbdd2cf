"""The post-quantum migration view and the workload counts on the dashboards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from posture.check_milestones import record_milestones
from posture.dashboard_pqc import assurance_workload, pqc_migration
from posture.dashboards import product_standings
from posture.identity.permissions import PermissionDenied, Principal
from posture.storage.engine import transaction
from posture.storage.models import Assessment, CheckRun, Product
from posture.storage.models.enums import AssessmentStatus, Role
from pq_crypto.catalogue import algorithm_index
from tests.dashboards.conftest import Db

WHEN = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _run(world, org: str, kind: str, score: float | None, status: str = "succeeded", **milestones):  # type: ignore[no-untyped-def]
    return CheckRun(
        organisation_id=world.orgs[org].organisation_id,
        product_id=world.orgs[org].product_id,
        kind=kind,
        target="x",
        status=status,
        score=score,
        result={"milestones": [{"id": m, "status": s} for m, s in milestones.items()]},
        created_at=WHEN,
        finished_at=WHEN,
    )


@pytest.fixture
def checked(snapshots: Db) -> Db:
    world, sessions, _ = snapshots
    with transaction(sessions) as session:
        runs = [
            _run(world, "s1", "tls", 90.0, **{"ncsc-2028": "not assessed", "ncsc-2031": "met"}),
            _run(world, "s1", "cert", 50.0, **{"ncsc-2035": "not met"}),
            _run(world, "s2", "tls", 30.0, **{"ncsc-2031": "not met"}),
            _run(world, "s2", "cbom", 100.0, status="failed", **{"ncsc-2028": "met"}),
        ]
        session.add_all(runs)
        session.flush()
        # As record_check_run does: the milestones the view reads are copied out of results.
        record_milestones(session.connection(), [(run.id, run.result) for run in runs])
    return snapshots


def test_readiness_is_the_weakest_latest_check_and_milestones_need_every_kind(
    checked: Db,
) -> None:
    world, sessions, _ = checked
    with sessions() as session:
        readiness, milestones = pqc_migration(session, world.principal(Role.NATIONAL_ASSESSOR))
        products = session.scalar(select(func.count()).select_from(Product))
    counts = dict(zip(readiness["readiness"], readiness["products"], strict=True))
    # s1: tls 90 and cert 50 -> migrating; s2: tls 30, but its latest cbom run could not assess
    # the product, so its weakest link is unknown: not assessable, and the milestone that run
    # claimed met is not assessed.
    assert counts == {
        "ready": 0,
        "migrating": 1,
        "exposed": 0,
        "not assessable": 1,
        "not checked": products - 2,
    }
    table = {(m, s): n for m, s, n in milestones.itertuples(index=False)}
    assert table == {
        ("ncsc-2028", "not assessed"): 2,
        ("ncsc-2031", "met"): 1,
        ("ncsc-2031", "not met"): 1,
        ("ncsc-2035", "not met"): 1,
    }


def test_workload_counts_reviews_and_contradicted_products(checked: Db) -> None:
    world, sessions, _ = checked
    assessor = world.principal(Role.FORCE_ASSESSOR)
    with sessions() as session:
        standings = product_standings(session, assessor)
        workload = assurance_workload(session, assessor, standings)
        submitted = session.scalar(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.status == AssessmentStatus.SUBMITTED)
        )
    assert submitted
    assert workload == {
        "awaiting review": submitted,
        "under review": 0,
        "products with contradicted claims": 1,
    }


def test_suppliers_cannot_see_the_estate_migration_view(checked: Db) -> None:
    world, sessions, _ = checked
    with sessions() as session, pytest.raises(PermissionDenied):
        pqc_migration(session, world.principal(Role.SUPPLIER_MEMBER))


def _render() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def _milestone_table(principal: Principal) -> dict[str, dict[str, int]]:
    """The page's "Products by NCSC milestone" table, milestone -> status -> products; the
    page names each milestone and its date, headed in words."""
    app = AppTest.from_function(_render, default_timeout=30)
    app.session_state["assure_principal"] = principal
    app.run()
    assert not app.exception
    (table,) = [f.value for f in app.dataframe if "Milestone" in f.value.columns]
    ids = {
        f"{m.title} (by {m.date:%d %b %Y})": m.id for m in algorithm_index().catalogue.milestones
    }
    return {
        ids[row["Milestone"]]: {k.lower(): int(v) for k, v in row.items() if k != "Milestone"}
        for row in table.to_dict("records")
    }


def test_the_page_shows_milestones_and_follows_a_new_check_run(
    checked: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, settings = checked
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    statuses = _milestone_table(assessor)
    assert statuses == {
        "ncsc-2028": {"not assessed": 2, "met": 0, "not met": 0},
        "ncsc-2031": {"not assessed": 0, "met": 1, "not met": 1},
        "ncsc-2035": {"not assessed": 0, "met": 0, "not met": 1},
    }
    # A later run for s2's cbom meets 2028: the cached view is keyed on the newest run.
    with transaction(sessions) as session:
        later = _run(world, "s2", "cbom", 95.0, **{"ncsc-2028": "met"})
        later.finished_at = WHEN.replace(hour=10)
        session.add(later)
        session.flush()
        record_milestones(session.connection(), [(later.id, later.result)])
    statuses = _milestone_table(assessor)
    assert statuses["ncsc-2028"] == {"not assessed": 1, "met": 1, "not met": 0}
