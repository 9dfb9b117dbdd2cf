"""Schedules a worker missed: a daily or hourly schedule whose time in the current period has
passed with no run recorded (every worker was down at that minute: a deploy, a restart) is run
now, once, under the same period claim as the clock's run."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from posture.schedules.book import Period, ScheduleBook, ScheduleDefinition, period_key
from posture.schedules.runner import ScheduleContext, ScheduleOutcome, run_schedule
from posture.storage.models import ScheduleRun

# How far back a missed run is looked for: the whole of the current period.
SPANS = {Period.DAY: timedelta(days=1), Period.HOUR: timedelta(hours=1)}


def last_due(definition: ScheduleDefinition, now: datetime) -> datetime | None:
    """The latest minute at or before `now`, within the current period, the schedule was due."""
    span = SPANS.get(definition.period)
    if span is None:
        return None  # minute-period schedules come round again soon enough
    due = definition.cron.due()
    current = period_key(definition.period, now)
    moment = now.replace(second=0, microsecond=0)
    earliest = moment - span
    while moment > earliest and period_key(definition.period, moment) == current:
        if due(moment.replace(tzinfo=None)):
            return moment
        moment -= timedelta(minutes=1)
    return None


def missed(book: ScheduleBook, context: ScheduleContext) -> list[str]:
    """Schedules due earlier in their current period with no run of it recorded, among those
    that have run before: a new installation (or a schedule new to the book) starts at its
    next due time rather than running everything the moment its first worker starts."""
    overdue = {
        definition.name: period_key(definition.period, context.now)
        for definition in book.definitions
        if last_due(definition, context.now) is not None
    }
    if not overdue:
        return []
    with context.sessions() as session:
        ran = set(
            session.execute(
                select(ScheduleRun.name, ScheduleRun.period_key).where(
                    ScheduleRun.name.in_(sorted(overdue))
                )
            ).all()
        )
    established = {name for name, _ in ran}
    return [
        name
        for name, period in overdue.items()
        if name in established and (name, period) not in ran
    ]


def catch_up(book: ScheduleBook, context: ScheduleContext) -> list[ScheduleOutcome]:
    return [run_schedule(book, name, context) for name in missed(book, context)]
