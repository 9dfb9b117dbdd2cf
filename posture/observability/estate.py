"""Gauges and counters read from the database when /metrics is scraped: the job queue, the
latest snapshot, the audit chain and failed sign-ins.

Each read is one query whose cost does not grow with the estate:

- jobs waiting or running: the `status` index, so only queued and running rows are read, never
  the finished history;
- the newest snapshot: max(taken_at) from the index that leads with taken_at;
- the audit chain's length: max(id), one step down the primary key. Appends are ordered by the
  chain's lock, so ids are gapless on SQLite; on PostgreSQL a rolled-back append can leave a
  gap, and the figure is then an upper bound of the events stored;
- failed sign-ins (audit events `auth.login_failed` / `auth.login_refused`, written by the
  Streamlit process, so counted from the database): counted once through the `action` index,
  then only among events past the newest id seen before. An append holds the chain's lock until
  it commits, so no event can later appear below that id.

Concurrent scrapes share one read (at most one a second), which runs in a thread of its own and
is waited for at most READ_TIMEOUT seconds from its start (single_flight). A failed read, or
one still running past that deadline, gives `assure_scrape_error 1` and the last good
counters, never an error page; while a read hangs, every scrape answers so at once rather than
wait, and no second read starts beside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from posture.observability.readiness import PROBE_TIMEOUT
from posture.observability.single_flight import SingleFlight
from posture.storage.models import AuditEvent, Job, PostureSnapshot
from posture.storage.models.enums import RunStatus

log = logging.getLogger("assure.metrics")

SIGN_IN_FAILURES = ("auth.login_failed", "auth.login_refused")
WAITING = (RunStatus.QUEUED, RunStatus.RUNNING)
# Scrapes closer together than this reuse the last read: twenty scrapers at once cost one read.
READ_REUSE_SECONDS = 1.0
# Seconds a scrape waits for the database and the queue, as long as readiness does.
READ_TIMEOUT = PROBE_TIMEOUT


@dataclass
class EstateReading:
    jobs: dict[str, int]
    oldest_queued_age: float | None
    snapshot_age: float | None
    audit_length: int
    sign_in_failures: dict[str, int]
    queue_pending: int | None
    read_seconds: float


@dataclass
class _SignInTally:
    """Failed sign-ins counted so far and the newest audit id the count covers."""

    through_id: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIGN_IN_FAILURES, 0))

    def advance(self, session: Session, newest_id: int) -> dict[str, int]:
        query = select(AuditEvent.action, func.count()).where(
            AuditEvent.action.in_(SIGN_IN_FAILURES)
        )
        if self.through_id is not None:
            if newest_id <= self.through_id:
                return dict(self.counts)
            query = query.where(AuditEvent.id > self.through_id)
        query = query.where(AuditEvent.id <= newest_id).group_by(AuditEvent.action)
        for action, count in session.execute(query):
            self.counts[action] += count
        self.through_id = newest_id
        return dict(self.counts)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


class EstateCollector(Collector):
    """A prometheus_client collector over the database (and, when given, the queue's transport:
    `pending` counts the messages huey has not handed to a worker yet)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        pending: Callable[[], int] | None = None,
        clock: Callable[[], datetime] = utcnow,
        database_ok: Callable[[], None] | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.sessions = sessions
        self.pending = pending
        # Raises when the database is gone in a way a pooled connection would not notice (a
        # deleted SQLite file): readiness's own check.
        self.database_ok = database_ok
        self.clock = clock
        self._tally = _SignInTally()
        self._flight: SingleFlight[EstateReading] = SingleFlight(
            "estate-read", self._read_and_keep, read_timeout
        )
        self._last: EstateReading | None = None

    def describe(self) -> list[Metric]:
        # Nothing to check for clashes, and describing must not query the database at startup.
        return []

    def read(self) -> EstateReading:
        now = self.clock()
        started = time.perf_counter()
        if self.database_ok is not None:
            self.database_ok()
        with self.sessions() as session:
            jobs = dict.fromkeys((s.value for s in WAITING), 0)
            for status, count in session.execute(
                select(Job.status, func.count()).where(Job.status.in_(WAITING)).group_by(Job.status)
            ):
                jobs[RunStatus(status).value] = count
            oldest = session.scalar(
                select(func.min(Job.created_at)).where(Job.status == RunStatus.QUEUED)
            )
            newest_snapshot = session.scalar(select(func.max(PostureSnapshot.taken_at)))
            newest_event = session.scalar(select(func.max(AuditEvent.id))) or 0
            failures = self._tally.advance(session, newest_event)
        pending = self.pending() if self.pending is not None else None
        return EstateReading(
            jobs=jobs,
            oldest_queued_age=_age(now, oldest),
            snapshot_age=_age(now, newest_snapshot),
            audit_length=newest_event,
            sign_in_failures=failures,
            queue_pending=pending,
            read_seconds=time.perf_counter() - started,
        )

    def _read_and_keep(self) -> EstateReading:
        reading = self.read()
        self._last = reading
        return reading

    def _reading(self) -> tuple[EstateReading | None, bool]:
        """The newest reading, and whether this scrape failed to get a fresh one."""
        attempt = self._flight.attempt(fresh_for=READ_REUSE_SECONDS)
        done = attempt.wait()
        if done and attempt.error is None:
            return attempt.value, False
        if not attempt.reported:  # once per read, however many scrapes see it
            attempt.reported = True
            if not done:
                log.warning("estate metrics: no answer within %g s", self._flight.timeout)
            else:
                # The type only: a driver's message may carry the host or the URL.
                log.warning("estate metrics unavailable: %s", type(attempt.error).__name__)
        return self._last, True

    def collect(self) -> Iterator[Metric]:
        reading, failed = self._reading()
        yield GaugeMetricFamily(
            "assure_scrape_error",
            "1 when the database or queue could not be read for this scrape, else 0.",
            value=1 if failed else 0,
        )
        if reading is None:
            return
        if not failed:
            yield GaugeMetricFamily(
                "assure_estate_read_seconds",
                "Seconds the database reads behind this scrape took.",
                value=reading.read_seconds,
            )
            yield from self._estate_gauges(reading)
        # A counter keeps its last good value through a failed read, so rate() does not see a
        # reset.
        failures = CounterMetricFamily(
            "assure_signin_failures",
            "Failed and refused sign-ins recorded in the audit trail, by audit action.",
            labels=["action"],
        )
        for action, count in sorted(reading.sign_in_failures.items()):
            failures.add_metric([action], count)
        yield failures

    def _estate_gauges(self, reading: EstateReading) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "assure_job_queue_depth", "Jobs waiting or running, by state.", labels=["state"]
        )
        for state, count in sorted(reading.jobs.items()):
            depth.add_metric([state], count)
        yield depth
        yield GaugeMetricFamily(
            "assure_job_queue_oldest_age_seconds",
            "Age of the oldest job still waiting for a worker; 0 when none waits.",
            value=reading.oldest_queued_age or 0.0,
        )
        if reading.queue_pending is not None:
            yield GaugeMetricFamily(
                "assure_queue_pending_messages",
                "Messages on the queue's transport (huey) not yet taken by a worker.",
                value=reading.queue_pending,
            )
        if reading.snapshot_age is not None:
            yield GaugeMetricFamily(
                "assure_snapshot_age_seconds",
                "Seconds since the newest posture snapshot run; absent before the first.",
                value=reading.snapshot_age,
            )
        yield GaugeMetricFamily(
            "assure_audit_chain_length",
            "Events in the audit chain, read as the newest event's id (see docs).",
            value=reading.audit_length,
        )
