"""The job queue: huey on a SQLite file by default, on Redis when ASSURE_REDIS_URL is set."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from checks.egress import EgressPolicy
from kernel.clock import utcnow
from kernel.data_dir import QUEUE_FILE, ensure_data_dir
from kernel.errors import ConfigError
from kernel.settings import Settings
from posture.audit import Actor
from posture.blobs import BlobStore
from posture.jobs.checks import ObserveCheck, execute_check_job
from posture.jobs.recovery import Recovered, recover_stale_jobs, release_worker_jobs
from posture.jobs.workers import new_token, worker_identity
from posture.schedules.book import ScheduleBook, ScheduleDefinition
from posture.schedules.catch_up import catch_up
from posture.schedules.runner import ScheduleContext, run_schedule
from posture.storage.engine import build_engine, session_factory, transaction

if TYPE_CHECKING:
    from huey import Huey
    from huey.api import TaskWrapper
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("assure.jobs")

QUEUE_NAME = "policetech-assure"


@dataclass(frozen=True)
class JobQueue:
    huey: Huey
    run_check: TaskWrapper
    sessions: sessionmaker[Session]
    # Runs a schedule now on a worker (`assure schedule run --on-worker`, the app's button),
    # under the same once-per-period claim as the worker's clock:
    # run_schedule_now(name, trigger, actor), the actor being who asked (audited as theirs).
    run_schedule_now: TaskWrapper
    # Where submitted files are kept for the worker, which reads them by digest.
    files: BlobStore
    # The egress policy its checks run under: a target the worker would refuse is refused when
    # it is submitted (posture.check_targets), so nothing doomed is queued.
    egress: EgressPolicy

    def _requeue(self, recovered: Recovered) -> Recovered:
        """Put recovered jobs back on the queue; their rows are committed as queued already."""
        for job_id in recovered.requeued:
            self.run_check(job_id)
        if recovered.requeued or recovered.failed:
            log.warning("recovered jobs: requeued %s, failed %s", *recovered)
        return recovered

    def release_worker(self, worker: str, cause: str) -> Recovered:
        """`worker` is known to have stopped: retry or fail its running jobs now."""
        with transaction(self.sessions) as session:
            recovered = release_worker_jobs(session, worker, utcnow(), cause)
        return self._requeue(recovered)

    def recover_stale(self) -> Recovered:
        with transaction(self.sessions) as session:
            recovered = recover_stale_jobs(session, utcnow())
        return self._requeue(recovered)


def _storage(settings: Settings, name: str) -> Huey:
    # huey (and through it redis and psycopg) loads where a queue is built, not wherever
    # JobQueue is named for its type (the API's dependencies, dispatch).
    from huey import Huey, RedisHuey, SqliteHuey

    if settings.redis_url:
        try:
            import redis  # noqa: F401  (only to give a clear error when the extra is missing)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "ASSURE_REDIS_URL is set but Redis support is not installed; "
                "run: pip install 'policetech-assure[redis]'"
            ) from exc
        return RedisHuey(name, url=settings.redis_url)
    if settings.queue_immediate:
        return Huey(name, immediate=True)
    path = ensure_data_dir(settings) / QUEUE_FILE
    return SqliteHuey(name, filename=str(path))


def _schedule(
    huey: Huey,
    book: ScheduleBook,
    definition: ScheduleDefinition,
    settings: Settings,
    sessions: sessionmaker[Session],
    enqueue: Callable[[int], Any],
) -> None:
    """Register one schedule as a periodic task named after it. Every worker process registers
    every schedule; the period's claim (posture.schedules.runner) lets one of them run it."""

    def run() -> dict[str, Any]:
        context = ScheduleContext(settings, sessions, utcnow(), enqueue)
        outcome = run_schedule(book, definition.name, context)
        if outcome.ran:
            log.info("schedule %s (%s): %s", definition.name, outcome.period, outcome.status)
        return outcome.as_dict()

    huey.periodic_task(definition.cron.due(), name=definition.name)(run)


def build_queue(
    settings: Settings,
    name: str = QUEUE_NAME,
    worker_token: str | None = None,
    observe_check: ObserveCheck | None = None,
    schedules: ScheduleBook | None = None,
) -> JobQueue:
    """Tasks are bound to a queue built from settings, so nothing lives at module level.
    `name` separates queues that share one Redis (tests running side by side). `worker_token`
    is the start token this process's claims carry (`assure serve` chooses it for its workers).
    `observe_check` is told each check's kind, outcome and duration (the worker's metrics).
    `schedules` is the schedule book a worker runs (supplier_portal.automation.schedule_book):
    the app and the API, which only enqueue, build the queue without one."""
    from huey.api import crontab

    huey = _storage(settings, name)
    sessions = session_factory(build_engine(settings))
    policy = EgressPolicy.from_settings(settings)
    files = BlobStore.for_settings(settings)
    token = worker_token or new_token()

    @huey.task(name="checks.run")
    def run_check(job_id: int) -> str:
        # The identity is taken when the task runs, in the process that runs it.
        state = execute_check_job(
            sessions,
            policy,
            job_id,
            worker=worker_identity(token),
            files=files,
            observe=observe_check,
        )
        log.info("check job %d: %s", job_id, state)
        return state

    @huey.task(name="schedules.run")
    def run_schedule_now(name: str, trigger: str, actor: Actor) -> dict[str, Any]:
        # Registered in every process so any may enqueue it; only a worker holds the book.
        if schedules is None:
            raise ConfigError("schedules run on a worker; this process has no schedule book")
        context = ScheduleContext(settings, sessions, utcnow(), run_check)
        outcome = run_schedule(schedules, name, context, trigger=trigger, actor=actor)
        log.info("schedule %s (%s) by %s: ran %s", name, outcome.period, trigger, outcome.ran)
        return outcome.as_dict()

    queue = JobQueue(huey, run_check, sessions, run_schedule_now, files, policy)

    @huey.periodic_task(crontab(minute="*"), name="jobs.recover_stale")
    def recover_stale() -> dict[str, list[int]]:
        return queue.recover_stale()._asdict()

    if schedules is not None:
        for definition in schedules.definitions:
            _schedule(huey, schedules, definition, settings, sessions, run_check)

        # A daily or hourly schedule whose minute passed while no worker ran (a deploy, a
        # restart) runs within five minutes of a worker being back, once for its period.
        @huey.periodic_task(crontab(minute="*/5"), name="schedules.catch_up")
        def catch_up_missed() -> list[dict[str, Any]]:
            context = ScheduleContext(settings, sessions, utcnow(), run_check)
            outcomes = catch_up(schedules, context)
            for outcome in outcomes:
                log.warning("schedule %s (%s) missed its time; run now: %s",
                            outcome.name, outcome.period, outcome.status)  # fmt: skip
            return [outcome.as_dict() for outcome in outcomes]

    return queue
