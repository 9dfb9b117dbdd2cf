"""A run's milestone statuses are copied out of its result when it is recorded and by the
0017 backfill, so the estate's post-quantum view never decodes results; hostile results give
rows that never claim more than the result says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checks.report import CheckReport, MilestoneStatus, ReportStatus
from posture.audit import Actor
from posture.check_milestones import milestone_rows
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.storage import migrate
from posture.storage.engine import session_factory, transaction
from posture.storage.models import CheckRun, CheckRunMilestone, Organisation

WHEN = datetime(2026, 11, 2, 9, tzinfo=UTC)
BEFORE = "0016_snapshot_columns"


def _milestone(milestone: str, status: str) -> MilestoneStatus:
    return MilestoneStatus(
        id=milestone, date="2028-12-31", title=milestone, status=status, days_left=9
    )


def _report(*milestones: MilestoneStatus) -> CheckReport:
    return CheckReport(
        kind="tls",
        target="portal.example:443",
        started_at=WHEN,
        finished_at=WHEN,
        status=ReportStatus.COMPLETED,
        score=80.0,
        milestones=list(milestones),
    )


def _organisation(session: Session) -> int:
    organisation = Organisation(name="Milestone Force", slug="milestone-force", kind="force")
    session.add(organisation)
    session.flush()
    return organisation.id


def _stored(session: Session) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for run_id, milestone, status in session.execute(
        select(
            CheckRunMilestone.check_run_id, CheckRunMilestone.milestone_id, CheckRunMilestone.status
        )
    ):
        found.setdefault(run_id, {})[milestone] = status
    return found


def test_a_recorded_run_stores_each_milestone_status(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        organisation_id = _organisation(session)
        run = record_check_run(
            session,
            Actor("test"),
            _report(_milestone("ncsc-2028", "met"), _milestone("ncsc-2031", "not met")),
            organisation_id,
        )
        quiet = record_check_run(session, Actor("test"), _report(), organisation_id)
        run_id, quiet_id = run.id, quiet.id
    with sessions() as session:
        stored = _stored(session)
    assert stored[run_id] == {"ncsc-2028": "met", "ncsc-2031": "not met"}
    assert quiet_id not in stored


def test_hostile_results_never_claim_a_milestone_met() -> None:
    result: dict[str, Any] = {
        "milestones": [
            {"id": "ncsc-2028", "status": "MET"},  # not a status checks write
            {"id": "ncsc-2031", "status": "not met"},
            {"id": "ncsc-2031", "status": "met"},  # a repeat cannot overturn the first
            {"id": "x" * 65, "status": "met"},
            {"id": 7, "status": "met"},
            {"id": "", "status": "met"},
            "ncsc-2035",
            None,
        ]
    }
    assert milestone_rows(1, result) == [
        {"check_run_id": 1, "milestone_id": "ncsc-2028", "status": "not assessed"},
        {"check_run_id": 1, "milestone_id": "ncsc-2031", "status": "not met"},
    ]
    for odd in (None, {}, {"milestones": "met"}, {"milestones": {"id": "a"}}, {"milestones": None}):
        assert milestone_rows(1, odd) == []


def test_the_upgrade_backfills_runs_recorded_before_it(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    sessions = session_factory(empty_engine)
    with transaction(sessions) as session:
        organisation_id = _organisation(session)
        record_check_run(
            session, Actor("test"), _report(_milestone("ncsc-2028", "met")), organisation_id
        )
    migrate.downgrade(empty_engine, BEFORE)
    runs = sa.table(
        "check_runs",
        sa.column("organisation_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("target", sa.String()),
        sa.column("status", sa.String()),
        sa.column("result", CheckRun.__table__.c.result.type),
        sa.column("created_at", CheckRun.__table__.c.created_at.type),
    )
    results: list[Any] = [
        {"milestones": [{"id": "ncsc-2031", "status": "not met"}]},
        {"milestones": [{"id": "ncsc-2035", "status": "bogus"}, "junk"]},
        None,
        {"milestones": 3},
    ]
    # More runs than one backfill batch (2,000), so the backfill must resume where it stopped.
    results += [{"milestones": [{"id": f"m{n % 7}", "status": "met"}]} for n in range(2_100)]
    with empty_engine.begin() as connection:
        connection.execute(
            sa.insert(runs),
            [
                {
                    "organisation_id": organisation_id,
                    "kind": "tls",
                    "target": "old.example:443",
                    "status": "succeeded",
                    "result": result,
                    "created_at": WHEN,
                }
                for result in results
            ],
        )
    migrate.upgrade(empty_engine)
    with sessions() as session:
        stored = _stored(session)
        every = session.execute(select(CheckRun.id, CheckRun.result).order_by(CheckRun.id)).all()
    expected = {
        run_id: {row["milestone_id"]: row["status"] for row in milestone_rows(run_id, result)}
        for run_id, result in every
    }
    assert stored == {run_id: rows for run_id, rows in expected.items() if rows}
    assert len(stored) == 1 + 2 + 2_100
    assert stored[every[2].id] == {"ncsc-2035": "not assessed"}


def test_the_demo_estate_stores_its_runs_milestones(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        seed_demo(session, 30, seed=5, as_of=date(2026, 11, 1))
    with sessions() as session:
        stored = _stored(session)
        every = session.execute(select(CheckRun.id, CheckRun.result)).all()
    expected = {
        run_id: {row["milestone_id"]: row["status"] for row in milestone_rows(run_id, result)}
        for run_id, result in every
    }
    assert stored == {run_id: rows for run_id, rows in expected.items() if rows}
    assert len(stored) > 5
