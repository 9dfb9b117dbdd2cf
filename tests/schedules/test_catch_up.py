"""A daily or hourly schedule whose minute passed while no worker ran is run once when a worker
is back; a new installation starts at each schedule's next due time instead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.schedules.book import parse_schedules
from posture.schedules.catch_up import catch_up, last_due
from posture.schedules.runner import ScheduleContext, run_schedule
from tests.schedules.test_runner import Counting

BOOK = """\
version: 1
schedules:
  - name: test.daily
    action: test.count
    description: Daily at 01:05.
    cron: {hour: "1", minute: "5"}
    period: day
    timeout_minutes: 30
  - name: test.hourly
    action: test.count
    description: Hourly at minute 7.
    cron: {minute: "7"}
    period: hour
    timeout_minutes: 30
"""
YESTERDAY = datetime(2026, 12, 6, 1, 5, tzinfo=UTC)


def _context(settings: Settings, sessions: sessionmaker[Session], now: datetime):
    return ScheduleContext(settings, sessions, now)


def test_a_missed_daily_run_is_caught_up_once(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    book = parse_schedules(BOOK, "test book", {"test.count": action})
    run_schedule(book, "test.daily", _context(backend_settings, sessions, YESTERDAY))
    # Every worker was down at 01:05 today; one is back at 03:00.
    back = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    first = catch_up(book, _context(backend_settings, sessions, back))
    again = catch_up(book, _context(backend_settings, sessions, back + timedelta(minutes=5)))
    assert [(o.name, o.period, o.ran) for o in first] == [("test.daily", "2026-12-07", True)]
    assert again == []
    assert action.calls == 2  # yesterday's, and today's caught up


def test_nothing_is_caught_up_before_its_time_or_on_a_new_installation(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    action = Counting()
    book = parse_schedules(BOOK, "test book", {"test.count": action})
    fresh = catch_up(
        book, _context(backend_settings, sessions, datetime(2026, 12, 7, 9, tzinfo=UTC))
    )
    assert fresh == [], "a new installation waits for each schedule's next due time"
    run_schedule(book, "test.daily", _context(backend_settings, sessions, YESTERDAY))
    early = datetime(2026, 12, 7, 0, 50, tzinfo=UTC)
    assert catch_up(book, _context(backend_settings, sessions, early)) == []
    assert action.calls == 1


def test_the_last_due_minute_is_read_within_the_current_period() -> None:
    book = parse_schedules(BOOK, "test book", {"test.count": Counting()})
    daily, hourly = book.named("test.daily"), book.named("test.hourly")
    assert last_due(daily, datetime(2026, 12, 7, 1, 5, 30, tzinfo=UTC)) == datetime(
        2026, 12, 7, 1, 5, tzinfo=UTC
    )
    assert last_due(daily, datetime(2026, 12, 7, 1, 4, tzinfo=UTC)) is None
    assert last_due(hourly, datetime(2026, 12, 7, 10, 20, tzinfo=UTC)) == datetime(
        2026, 12, 7, 10, 7, tzinfo=UTC
    )
    assert last_due(hourly, datetime(2026, 12, 7, 10, 6, tzinfo=UTC)) is None
