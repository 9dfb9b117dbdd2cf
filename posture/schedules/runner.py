"""Run one schedule once in its period, whoever triggers it and however many times.

The claim is the period's row: inserting it (name and period unique) is what lets a trigger run.
A second trigger in the period finds the row and does nothing; one that finds the period's run
failed, or running past its timeout (its worker presumed dead), takes the row over with a
conditional update, so of two such triggers one wins. The action runs outside the claim's
transaction and owns its own transactions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import Settings
from posture.audit import SYSTEM, Actor, record
from posture.schedules.book import ScheduleBook, ScheduleDefinition, period_key
from posture.storage.engine import transaction
from posture.storage.models import ScheduleRun
from posture.storage.models.enums import ScheduleRunStatus

log = logging.getLogger("assure.schedules")

# The trigger of a worker's clock; a person's runs ("cli", "app") are audited as theirs.
SCHEDULED = "schedule"
# How long finished runs are kept: a two-minute schedule leaves 720 rows a day.
KEEP_RUNS = timedelta(days=30)
# What a run keeps of an action's error: enough to act on, never a traceback.
MAX_ERROR = 500


@dataclass(frozen=True)
class ScheduleContext:
    """What an action is given: the settings, a session factory, the moment it is run for, and
    how to put a check on the queue (absent where no queue is at hand)."""

    settings: Settings
    sessions: sessionmaker[Session]
    now: datetime
    enqueue_check: Callable[[int], Any] | None = None


@dataclass(frozen=True)
class ScheduleOutcome:
    name: str
    period: str
    ran: bool
    status: ScheduleRunStatus
    run_id: int
    summary: dict[str, Any]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "period": self.period,
            "ran": self.ran,
            "status": self.status.value,
            "run_id": self.run_id,
            "summary": self.summary,
            "error": self.error,
        }


def _claim(
    sessions: sessionmaker[Session],
    definition: ScheduleDefinition,
    period: str,
    now: datetime,
    trigger: str,
) -> tuple[bool, ScheduleRun]:
    """(claimed, the period's row). Inserting the row claims a fresh period."""
    try:
        with transaction(sessions) as session:
            row = ScheduleRun(
                name=definition.name,
                period_key=period,
                status=ScheduleRunStatus.RUNNING,
                trigger=trigger,
                attempts=1,
                started_at=now,
                summary={},
            )
            session.add(row)
            session.flush()
            session.expunge(row)
            return True, row
    except IntegrityError:
        pass
    with transaction(sessions) as session:
        row = session.scalars(
            select(ScheduleRun).where(
                ScheduleRun.name == definition.name, ScheduleRun.period_key == period
            )
        ).one()
        stale = row.status == ScheduleRunStatus.RUNNING and row.started_at < now - timedelta(
            minutes=definition.timeout_minutes
        )
        if row.status != ScheduleRunStatus.FAILED and not stale:
            session.expunge(row)
            return False, row
        # Taken over only if no one else has since: the row must be as it was read.
        taken = session.execute(
            update(ScheduleRun)
            .where(
                ScheduleRun.id == row.id,
                ScheduleRun.status == row.status,
                ScheduleRun.attempts == row.attempts,
            )
            .values(
                status=ScheduleRunStatus.RUNNING,
                trigger=trigger,
                attempts=row.attempts + 1,
                started_at=now,
                finished_at=None,
                error=None,
                summary={},
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        session.expire(row)
        session.refresh(row)
        session.expunge(row)
        return bool(taken), row


def _finish(
    sessions: sessionmaker[Session],
    run_id: int,
    attempt: int,
    status: ScheduleRunStatus,
    summary: dict[str, Any],
    error: str | None,
    actor: Actor,
) -> None:
    with transaction(sessions) as session:
        row = session.get(ScheduleRun, run_id)
        if row is None:  # removed by the retention sweep mid-run: nothing to report into
            return
        if row.attempts != attempt or row.status != ScheduleRunStatus.RUNNING:
            # Taken over while this attempt ran long (its worker presumed dead): the newer
            # attempt reports the period, not this one.
            log.warning("schedule %s (%s): attempt %d finished after it was taken over",
                        row.name, row.period_key, attempt)  # fmt: skip
            return
        row.status, row.summary, row.error = status, summary, error
        row.finished_at = utcnow()
        session.execute(
            delete(ScheduleRun)
            .where(
                ScheduleRun.name == row.name,
                ScheduleRun.started_at < row.started_at - KEEP_RUNS,
                ScheduleRun.status != ScheduleRunStatus.RUNNING,
            )
            .execution_options(synchronize_session=False)
        )
        if row.trigger == SCHEDULED:
            return  # the clock's runs are the table; what each action changed it audits itself
        record(
            session,
            actor,
            "schedule.ran",
            "schedule_run",
            run_id,
            {
                "schedule": row.name,
                "period": row.period_key,
                "outcome": status.value,
                "attempts": row.attempts,
                "trigger": row.trigger,
            },
        )


def run_schedule(
    book: ScheduleBook,
    name: str,
    context: ScheduleContext,
    trigger: str = SCHEDULED,
    actor: Actor = SYSTEM,
) -> ScheduleOutcome:
    """Run schedule `name` for the period `context.now` falls in, unless that period's run has
    succeeded or is running. An action's failure is recorded, never raised: a worker's clock
    must keep ticking, and `assure schedule run` reports it."""
    definition = book.named(name)
    period = period_key(definition.period, context.now)
    claimed, row = _claim(context.sessions, definition, period, context.now, trigger)
    if not claimed:
        return ScheduleOutcome(name, period, False, row.status, row.id, row.summary, row.error)
    try:
        summary = dict(book.action_of(definition)(context))
        # An action that did not do its work without raising (the retention sweep under a
        # refused policy) says so with ok: false and the error.
        if summary.get("ok") is False:
            status = ScheduleRunStatus.FAILED
            error = str(summary.get("error") or "the action reported it did not complete")
            error = error[:MAX_ERROR]
        else:
            status, error = ScheduleRunStatus.SUCCEEDED, None
    except AssureError as exc:
        summary, status, error = {}, ScheduleRunStatus.FAILED, str(exc)[:MAX_ERROR]
        log.error("schedule %s (%s) failed: %s", name, period, error)
    except Exception as exc:
        summary, status = {}, ScheduleRunStatus.FAILED
        error = f"internal error ({type(exc).__name__}); see the worker's log"
        log.exception("schedule %s (%s) failed", name, period)
    _finish(context.sessions, row.id, row.attempts, status, _plain(summary), error, actor)
    return ScheduleOutcome(name, period, True, status, row.id, _plain(summary), error)


def _plain(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as JSON keeps it (tuples as lists, dates as text)."""
    return dict(json.loads(json.dumps(summary, default=str)))
