"""Who writes audit checkpoints, and that the file stays verifiable whoever writes it.

A snapshot run writes one after it commits, the worker writes one every hour (skipping a chain
that has not moved), and concurrent writers never leave a line that fails to verify.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from huey import Huey
from huey.api import Task
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.data_dir import ensure_data_dir
from kernel.settings import Settings, load_settings
from posture.audit import Actor, record
from posture.audit_checkpoint import checkpoint_path, write_checkpoint
from posture.audit_checkpoint_verify import TrailReport, verify_trail
from posture.schedules.actions import checkpoint_audit_trail
from posture.schedules.runner import ScheduleContext
from posture.storage.engine import transaction
from tests.cli import assure
from tests.jobs.schedule import worker_huey

ALICE = Actor(label="alice@force.example")
HOURLY = "audit.checkpoint"


def _append(sessions: sessionmaker[Session], count: int = 1) -> int:
    with transaction(sessions) as session:
        for index in range(count):
            event = record(session, ALICE, "answer.saved", "answer", index)
        return event.id


def _verify(sessions: sessionmaker[Session], data_dir: Path) -> TrailReport:
    with sessions() as session:
        return verify_trail(session, data_dir)


def _lines(data_dir: Path) -> list[dict]:
    return [json.loads(line) for line in checkpoint_path(data_dir).read_text().splitlines()]


def _due(huey: Huey, when: datetime) -> set[str]:
    return {task.name for task in huey.read_periodic(when)}


def _hourly_task(settings: Settings) -> Task:
    huey = worker_huey(settings)
    (task,) = [
        task for task in huey.read_periodic(datetime(2026, 5, 1, 9, 7)) if task.name == HOURLY
    ]
    return task


def test_a_snapshot_run_writes_a_checkpoint_covering_its_own_event(
    sqlite_env: dict[str, str],
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "1", "--as-of", "2026-11-01", env=sqlite_env)
    assert seeded.returncode == 0, seeded.stderr
    result = assure("score", "--snapshot", "--json", "--as-of", "2026-11-01", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    data_dir = Path(sqlite_env["ASSURE_DATA_DIR"])
    with sqlite3.connect(data_dir / "assure.db") as connection:
        last_id, action = connection.execute(
            "SELECT id, action FROM audit_events ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert action == "posture.snapshot"
    (line,) = _lines(data_dir)
    assert (line["checkpoint"]["tip_event_id"], line["checkpoint"]["written_by"]) == (
        last_id,
        "snapshot",
    )


def test_the_worker_schedules_a_checkpoint_every_hour(tmp_path: Path) -> None:
    settings = load_settings({"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_QUEUE_IMMEDIATE": "1"})
    huey = worker_huey(settings)
    assert all(HOURLY in _due(huey, datetime(2026, 5, 1, hour, 7)) for hour in range(24))
    assert HOURLY not in _due(huey, datetime(2026, 5, 1, 9, 8))


def test_the_workers_hourly_task_writes_a_checkpoint(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    tip = _append(sessions, 4)
    result = _hourly_task(backend_settings).execute()
    assert result["ran"] is True
    assert result["summary"] == {"written": True, "event_count": 4, "tip_event_id": tip}
    report = _verify(sessions, backend_settings.data_dir)
    assert report.findings == ()
    assert report.latest is not None
    assert report.latest.written_by == "worker"


def test_the_hourly_task_skips_a_chain_that_has_not_moved(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    _append(sessions, 2)
    # The action itself, as each hour's run calls it: the period's claim keeps a second
    # trigger within the hour from running it at all.
    context = ScheduleContext(backend_settings, sessions, utcnow())
    written = [checkpoint_audit_trail(context)["written"]]
    written.append(checkpoint_audit_trail(context)["written"])
    _append(sessions)
    written.append(checkpoint_audit_trail(context)["written"])
    assert written == [True, False, True]
    assert len(_lines(backend_settings.data_dir)) == 2


def _twenty_writers_at_once(sessions: sessionmaker[Session], data_dir: Path) -> None:
    """Twenty threads each record an event and write a checkpoint, all at once; the first ones
    also race to create the signing keys."""

    def writer(thread: int) -> bool:
        _append(sessions)
        return write_checkpoint(sessions, data_dir, f"thread-{thread}").written

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert all(pool.map(writer, range(20)))


def test_twenty_concurrent_writers_leave_a_file_where_every_line_verifies(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    data_dir = ensure_data_dir(backend_settings)
    _twenty_writers_at_once(sessions, data_dir)
    report = _verify(sessions, data_dir)
    assert (report.checkpoints_read, report.checkpoints_valid, report.findings) == (20, 20, ())


def test_concurrent_checkpoints_are_appended_in_chain_order(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    data_dir = ensure_data_dir(backend_settings)
    _twenty_writers_at_once(sessions, data_dir)
    counts = [line["checkpoint"]["event_count"] for line in _lines(data_dir)]
    assert counts == sorted(counts)


def test_the_checkpoint_file_is_readable_only_by_its_owner(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    _append(sessions)
    written = write_checkpoint(sessions, ensure_data_dir(backend_settings), "test")
    assert written.path.stat().st_mode & 0o777 == 0o600


def test_the_next_checkpoint_cuts_an_unfinished_line(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    data_dir = ensure_data_dir(backend_settings)
    _append(sessions)
    first = write_checkpoint(sessions, data_dir, "test")
    with first.path.open("ab") as handle:
        handle.write(first.record.line()[:1000])  # a write cut short by a crash
    _append(sessions)
    write_checkpoint(sessions, data_dir, "test")
    report = _verify(sessions, data_dir)
    assert (report.checkpoints_valid, report.findings) == (2, ())
