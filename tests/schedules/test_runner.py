"""A schedule runs once in its period, however often and from wherever it is triggered; a failed
run may be retried, a run whose worker died is taken over after its timeout, and an action's
failure is recorded, never raised."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.audit import Actor
from posture.schedules.book import ScheduleBook, parse_schedules
from posture.schedules.runner import ScheduleContext, run_schedule
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, ScheduleRun, User
from posture.storage.models.enums import ScheduleRunStatus

BOOK = """\
version: 1
schedules:
  - name: test.daily
    action: test.count
    description: Counts its runs.
    cron: {hour: "1", minute: "5"}
    period: day
    timeout_minutes: 30
"""
MORNING = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)


class Counting:
    """An action that counts its calls and does whatever the test says on each."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.then: list[Any] = []

    def __call__(self, context: ScheduleContext) -> Mapping[str, Any]:
        with self.lock:
            self.calls += 1
            step = self.then.pop(0) if self.then else None
        if isinstance(step, BaseException):
            raise step
        return {"call": self.calls, "day": context.now.date()}


def _book(action: Counting) -> ScheduleBook:
    return parse_schedules(BOOK, "test book", {"test.count": action})


def _context(settings: Settings, sessions: sessionmaker[Session], now: datetime = MORNING):
    return ScheduleContext(settings, sessions, now)


def _runs(sessions: sessionmaker[Session]) -> list[ScheduleRun]:
    with sessions() as session:
        return list(session.scalars(select(ScheduleRun).order_by(ScheduleRun.id)))


def test_a_second_trigger_in_the_day_runs_nothing(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    book = _book(action)
    first = run_schedule(book, "test.daily", _context(backend_settings, sessions))
    second = run_schedule(
        book, "test.daily", _context(backend_settings, sessions, MORNING + timedelta(hours=9))
    )
    assert (first.ran, first.status, first.period) == (True, ScheduleRunStatus.SUCCEEDED,
                                                       "2026-12-07")  # fmt: skip
    assert first.summary == {"call": 1, "day": "2026-12-07"}
    assert (second.ran, second.run_id, second.summary) == (False, first.run_id, first.summary)
    assert action.calls == 1
    tomorrow = run_schedule(
        book, "test.daily", _context(backend_settings, sessions, MORNING + timedelta(days=1))
    )
    assert (tomorrow.ran, tomorrow.period) == (True, "2026-12-08")
    assert [(r.period_key, r.status) for r in _runs(sessions)] == [
        ("2026-12-07", ScheduleRunStatus.SUCCEEDED),
        ("2026-12-08", ScheduleRunStatus.SUCCEEDED),
    ]


def test_twenty_triggers_at_once_run_the_action_once(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    book = _book(action)
    start = threading.Barrier(20)
    outcomes: list[Any] = [None] * 20

    def trigger(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = run_schedule(book, "test.daily", _context(backend_settings, sessions))
        except Exception as exc:  # reported below, never swallowed
            outcomes[index] = exc

    threads = [threading.Thread(target=trigger, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert sum(o.ran for o in outcomes) == 1
    assert action.calls == 1
    assert len(_runs(sessions)) == 1


def test_a_failed_run_is_recorded_without_a_traceback_and_may_be_retried(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    action.then = [ValidationFailed("the estate is locked for a restore"), KeyError("secret")]
    book = _book(action)
    failed = run_schedule(book, "test.daily", _context(backend_settings, sessions))
    assert (failed.ran, failed.status, failed.error) == (
        True, ScheduleRunStatus.FAILED, "the estate is locked for a restore",
    )  # fmt: skip
    internal = run_schedule(book, "test.daily", _context(backend_settings, sessions))
    # An unexpected error is named by its type only: its text may hold anything.
    assert internal.error == "internal error (KeyError); see the worker's log"
    retried = run_schedule(book, "test.daily", _context(backend_settings, sessions))
    assert (retried.ran, retried.status) == (True, ScheduleRunStatus.SUCCEEDED)
    (row,) = _runs(sessions)
    assert (row.attempts, row.status, row.error) == (3, ScheduleRunStatus.SUCCEEDED, None)
    assert action.calls == 3


def test_a_run_whose_worker_died_is_taken_over_only_after_its_timeout(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    book = _book(action)
    with transaction(sessions) as session:
        session.add(
            ScheduleRun(
                name="test.daily",
                period_key="2026-12-07",
                status=ScheduleRunStatus.RUNNING,
                trigger="schedule",
                attempts=1,
                started_at=MORNING,
                summary={},
            )
        )
    within = run_schedule(
        book, "test.daily", _context(backend_settings, sessions, MORNING + timedelta(minutes=29))
    )
    assert (within.ran, within.status) == (False, ScheduleRunStatus.RUNNING)
    after = run_schedule(
        book, "test.daily", _context(backend_settings, sessions, MORNING + timedelta(minutes=31))
    )
    assert (after.ran, after.status) == (True, ScheduleRunStatus.SUCCEEDED)
    assert action.calls == 1


def test_a_persons_run_is_audited_as_theirs_and_the_clocks_runs_are_not(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    book = _book(Counting())
    with transaction(sessions) as session:
        admin = User(email="admin@platform.example", display_name="Admin")
        session.add(admin)
        session.flush()
        admin_id = admin.id
    run_schedule(book, "test.daily", _context(backend_settings, sessions))
    run_schedule(
        book,
        "test.daily",
        _context(backend_settings, sessions, MORNING + timedelta(days=1)),
        trigger="app",
        actor=Actor("admin@platform.example", admin_id),
    )
    with sessions() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor_user_id, AuditEvent.data)
        ).all()
    assert [(action, user_id) for action, user_id, _ in events] == [("schedule.ran", admin_id)]
    assert events[0].data["period"] == "2026-12-08"
    assert events[0].data["trigger"] == "app"


def test_an_unknown_schedule_is_refused_before_anything_runs(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(Exception, match=r"no schedule named 'test\.weekly'"):
        run_schedule(_book(Counting()), "test.weekly", _context(backend_settings, sessions))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScheduleRun)) == 0


def test_an_attempt_that_finishes_after_it_was_taken_over_reports_nothing(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    from posture.schedules.runner import _finish

    with transaction(sessions) as session:
        row = ScheduleRun(
            name="test.daily",
            period_key="2026-12-07",
            status=ScheduleRunStatus.RUNNING,
            trigger="schedule",
            attempts=2,  # the second attempt took the period over and is still running
            started_at=MORNING,
            summary={},
        )
        session.add(row)
        session.flush()
        run_id = row.id
    _finish(sessions, run_id, 1, ScheduleRunStatus.FAILED, {}, "the first attempt", Actor("cli"))
    (kept,) = _runs(sessions)
    assert (kept.status, kept.error, kept.finished_at) == (ScheduleRunStatus.RUNNING, None, None)
