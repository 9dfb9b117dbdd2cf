"""Readiness: does the database answer, and is the job queue reachable, within a short time.

Each probe runs in a thread of its own and is waited for at most `timeout` seconds from the
moment it started, so a hung peer (a PostgreSQL or Redis that accepts and never answers) gives
"not ready" in bounded time. While a probe is still hanging, the next check shares that same
attempt instead of starting another thread, and once the attempt is past its deadline it
answers at once: a load balancer asking every second piles up neither threads nor waiters
behind a dead peer.

What a failure says is the probe's name and a fixed phrase, never the exception's text, which
for a database driver can carry the host, the user or the URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from posture.observability.single_flight import Attempt, SingleFlight

log = logging.getLogger("assure.health")

PROBE_TIMEOUT = 2.0


@dataclass
class Probe:
    """One dependency's check, bounded in time, with at most one attempt in flight: callers
    arriving while it runs share that attempt, up to its deadline (see single_flight)."""

    name: str
    check: Callable[[], None]
    timeout: float = PROBE_TIMEOUT

    def __post_init__(self) -> None:
        self._flight: SingleFlight[None] = SingleFlight(
            f"probe-{self.name}", self.check, self.timeout
        )

    def start(self) -> Attempt[None]:
        return self._flight.attempt()

    def verdict(self, attempt: Attempt[None]) -> str | None:
        """None when the dependency answered; otherwise why not, in words safe to publish."""
        if not attempt.wait():
            if not attempt.reported:
                attempt.reported = True
                log.warning("readiness: %s did not answer in %s s", self.name, self.timeout)
            return f"no answer within {self.timeout:g} s"
        if attempt.error is not None:
            log.warning("readiness: %s failed: %s", self.name, type(attempt.error).__name__)
            return "not reachable"
        return None

    def __call__(self) -> str | None:
        return self.verdict(self.start())


def database_check(engine: Engine) -> Callable[[], None]:
    """The schema's version row can be read. On SQLite the file must also still be there: a
    pooled connection keeps reading a deleted file, and a new one would create an empty one."""
    url = engine.url
    sqlite_file = (
        Path(url.database)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        else None
    )

    def check() -> None:
        if sqlite_file is not None and not sqlite_file.is_file():
            raise FileNotFoundError("the SQLite database file is missing")
        with engine.connect() as connection:
            connection.execute(text("SELECT version_num FROM alembic_version")).first()

    return check


def queue_check(pending_count: Callable[[], int]) -> Callable[[], None]:
    """The queue's transport answers: huey's count of pending messages (SQLite: one count on
    the task table; Redis: LLEN)."""

    def check() -> None:
        pending_count()

    return check


@dataclass(frozen=True)
class Readiness:
    probes: tuple[Probe, ...]

    def failures(self) -> dict[str, str]:
        """Probe name to reason for each failing dependency; empty when ready. Every probe's
        attempt starts before any is waited on, so the answer takes at most one probe's
        timeout, and no thread is started to wait."""
        attempts = [(probe, probe.start()) for probe in self.probes]
        verdicts = {probe.name: probe.verdict(attempt) for probe, attempt in attempts}
        return {name: reason for name, reason in verdicts.items() if reason is not None}


def dependency_readiness(engine: Engine, pending_count: Callable[[], int]) -> Readiness:
    """What both the API and the worker need to do their work: the database and the queue."""
    return Readiness(
        (Probe("database", database_check(engine)), Probe("queue", queue_check(pending_count)))
    )
