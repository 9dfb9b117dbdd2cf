"""The daily snapshot is stored once a day: a real worker triggered twice and the command line at
the same moment store one snapshot, and a run retried after its snapshot committed stores none."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kernel.settings import load_settings
from posture.audit import Actor
from posture.jobs.queue import build_queue
from posture.schedules.actions import daily_snapshot
from posture.schedules.runner import ScheduleContext
from posture.storage.models import PostureSnapshot
from tests.cli import assure
from tests.peers.workers import running_worker, worker_env

DAILY = "posture.daily_snapshot"


def _finished_runs(database: Path, name: str) -> list[tuple[str, str, int]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT period_key, status, attempts FROM schedule_runs"
            " WHERE name = ? AND finished_at IS NOT NULL",
            (name,),
        ).fetchall()


def _wait_for_run(database: Path, name: str, timeout: float = 120) -> list[tuple[str, str, int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _finished_runs(database, name)
        if runs:
            return runs
        time.sleep(0.25)
    raise AssertionError(f"{name} did not finish within {timeout} s")


def test_the_daily_snapshot_runs_once_when_triggered_twice_on_a_worker_and_once_by_hand(
    sqlite_env: dict[str, str],
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "3", env=sqlite_env, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    settings = load_settings(sqlite_env)
    database = settings.data_dir / "assure.db"
    queue = build_queue(settings)
    by_hand = subprocess.Popen(
        [sys.executable, "-m", "assure_cli.main", "schedule", "run", DAILY, "--json"],
        env=worker_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with running_worker(settings, threads=2):
        queued = [queue.run_schedule_now(DAILY, "cli", Actor("cli")) for _ in range(2)]
        on_worker = [result.get(blocking=True, timeout=240) for result in queued]
        out, err = by_hand.communicate(timeout=300)
    assert by_hand.returncode == 0, err
    outcomes = [*on_worker, json.loads(out)]
    assert sum(outcome["ran"] for outcome in outcomes) == 1, outcomes
    assert {outcome["period"] for outcome in outcomes} == {outcomes[0]["period"]}
    (run,) = _wait_for_run(database, DAILY)
    assert run[1:] == ("succeeded", 1)
    with sqlite3.connect(database) as connection:
        moments = connection.execute(
            "SELECT taken_at, count(*) FROM posture_snapshots GROUP BY taken_at"
        ).fetchall()
        products = connection.execute(
            "SELECT count(*) FROM products WHERE deleted_at IS NULL"
        ).fetchone()[0]
        # The worker's clock may run other schedules meanwhile; the snapshot has one row.
        (runs,) = connection.execute(
            "SELECT count(*) FROM schedule_runs WHERE name = ?", (DAILY,)
        ).fetchone()
    assert len(moments) == 1, "one snapshot for the day"
    (_, subjects) = moments[0]
    assert subjects >= products > 0
    assert runs == 1
    listed = assure("schedule", "list", "--json", env=sqlite_env)
    assert listed.returncode == 0, listed.stderr
    assert '"status": "succeeded"' in listed.stdout


def test_a_retried_daily_snapshot_does_not_store_the_day_twice(world_db) -> None:  # type: ignore[no-untyped-def]
    _, sessions, settings = world_db
    morning = datetime(2026, 12, 7, 0, 45, tzinfo=UTC)
    first = daily_snapshot(ScheduleContext(settings, sessions, morning))
    # Its checkpoint failed, or its worker died after the commit: the run is tried again later.
    again = daily_snapshot(ScheduleContext(settings, sessions, morning + timedelta(hours=3)))
    assert first["subjects"] > 0
    assert again == {
        "as_of": "2026-12-07",
        "already_taken_at": morning.isoformat(),
        "subjects": 0,
    }
    with sessions() as session:
        moments = session.scalars(select(func.count(func.distinct(PostureSnapshot.taken_at))))
        assert moments.one() == 1
    tomorrow = daily_snapshot(ScheduleContext(settings, sessions, morning + timedelta(days=1)))
    assert tomorrow["subjects"] == first["subjects"]
