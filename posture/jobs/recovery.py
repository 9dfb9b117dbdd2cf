"""Jobs whose worker stopped: back on the queue while attempts remain, else failed for good.

There are two ways to know a worker stopped. The supervisor that started it saw it exit, which
is certain and immediate (`release_worker_jobs`). Or its jobs stopped heartbeating, the backstop
for workers nobody here watches, such as those on other hosts sharing a Redis queue
(`recover_stale_jobs`). Both only mark rows; the caller commits, then puts requeued ids back on
the queue, so a worker never picks up an id whose row still says running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from posture.audit import SYSTEM, record
from posture.jobs.workers import audit_name
from posture.storage.models import Job
from posture.storage.models.enums import RunStatus

# Workers heartbeat every 10 s while a check runs, so a minute of silence is six missed beats.
STALE_AFTER = timedelta(minutes=1)


class Recovered(NamedTuple):
    requeued: list[int]
    failed: list[int]


def after_worker_stopped(attempts: int, max_attempts: int) -> RunStatus:
    """Attempts are counted when a job is claimed, so `attempts` includes the one that died."""
    return RunStatus.QUEUED if attempts < max_attempts else RunStatus.FAILED


def gave_up_error(attempts: int) -> str:
    return f"gave up after {attempts} attempts: the worker stopped each time"


def _settle(
    session: Session,
    jobs: Sequence[Job],
    still: ColumnElement[bool],
    now: datetime,
    cause: str,
) -> Recovered:
    recovered = Recovered([], [])
    for job in jobs:
        status = after_worker_stopped(job.attempts, job.max_attempts)
        values: dict[str, Any] = {"status": status}
        if status is RunStatus.QUEUED:
            values["message"] = f"requeued: {cause}"
        else:
            values |= {"finished_at": now, "message": cause, "error": gave_up_error(job.attempts)}
        # Conditional on what was read: a job claimed again, finished, or heartbeating since
        # is left alone, so a slow recovery never undoes a newer claim.
        changed = session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.status == RunStatus.RUNNING,
                Job.attempts == job.attempts,
                still,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not changed.rowcount:
            continue
        (recovered.requeued if status is RunStatus.QUEUED else recovered.failed).append(job.id)
        record(
            session,
            SYSTEM,
            "job.requeued" if status is RunStatus.QUEUED else "job.failed",
            "job",
            job.id,
            {"cause": cause, "worker": audit_name(job.claimed_by), "attempts": job.attempts},
            organisation_id=job.organisation_id,
        )
    return recovered


def release_worker_jobs(session: Session, worker: str, now: datetime, cause: str) -> Recovered:
    """The worker is known to have stopped (its parent saw it exit): settle its jobs now."""
    held = Job.claimed_by == worker
    jobs = session.scalars(select(Job).where(Job.status == RunStatus.RUNNING, held)).all()
    return _settle(session, jobs, held, now, cause)


def recover_stale_jobs(
    session: Session, now: datetime, stale_after: timedelta = STALE_AFTER
) -> Recovered:
    """Jobs whose worker stopped heartbeating: requeued while attempts remain, else failed."""
    stale = Job.heartbeat_at < now - stale_after
    jobs = session.scalars(select(Job).where(Job.status == RunStatus.RUNNING, stale)).all()
    return _settle(session, jobs, stale, now, "its worker stopped heartbeating")
