"""The job queue: huey on a SQLite file by default, on Redis when ASSURE_REDIS_URL is set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from checks.egress import EgressPolicy
from kernel.clock import utcnow
from kernel.data_dir import QUEUE_FILE, ensure_data_dir
from kernel.errors import ConfigError
from kernel.settings import Settings
from posture.audit import SYSTEM
from posture.audit_checkpoint import scheduled_checkpoint
from posture.audit_checkpoint_verify import verify_trail
from posture.blobs import BlobStore
from posture.jobs.checks import ObserveCheck, execute_check_job
from posture.jobs.recovery import Recovered, recover_stale_jobs, release_worker_jobs
from posture.jobs.workers import new_token, worker_identity
from posture.monitoring.endpoints import queue_due_checks
from posture.passport.watch import after_exceptions_ended
from posture.risk.expiry import expire_decisions
from posture.storage.engine import build_engine, session_factory, transaction
from posture.target_profiles import retarget_estate

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
    # Where submitted files are kept for the worker, which reads them by digest.
    files: BlobStore

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


def build_queue(
    settings: Settings,
    name: str = QUEUE_NAME,
    worker_token: str | None = None,
    observe_check: ObserveCheck | None = None,
) -> JobQueue:
    """Tasks are bound to a queue built from settings, so nothing lives at module level.
    `name` separates queues that share one Redis (tests running side by side). `worker_token`
    is the start token this process's claims carry (`assure serve` chooses it for its workers).
    `observe_check` is told each check's kind, outcome and duration (the worker's metrics)."""
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

    queue = JobQueue(huey, run_check, sessions, files)

    @huey.periodic_task(crontab(minute="*"), name="jobs.recover_stale")
    def recover_stale() -> dict[str, list[int]]:
        return queue.recover_stale()._asdict()

    @huey.periodic_task(crontab(minute="*/10"), name="monitoring.queue_due")
    def queue_due() -> list[int]:
        queued = queue_due_checks(sessions, run_check, utcnow())
        if queued:
            log.info("monitoring: queued %d re-checks", len(queued))
        return queued

    # Hourly, ten minutes before the hourly verification, which then compares the chain with a
    # checkpoint at most ten minutes old. Every worker process schedules it; the file's lock
    # orders them and a checkpoint is skipped when the chain has not moved since the last one.
    @huey.periodic_task(crontab(minute="7"), name="audit.checkpoint")
    def checkpoint_audit_trail() -> dict[str, object]:
        return scheduled_checkpoint(sessions, ensure_data_dir(settings))

    @huey.periodic_task(crontab(minute="17"), name="audit.verify_chain")
    def verify_audit_chain() -> dict[str, object]:
        with sessions() as session:
            report = verify_trail(session, settings.data_dir)
        chain_break = report.chain.first_break
        if chain_break is not None:
            log.error(
                "audit chain broken at event %d: %s", chain_break.event_id, chain_break.reason
            )
        for finding in report.findings:
            level = logging.ERROR if finding.severity == "break" else logging.WARNING
            log.log(
                level, "audit trail: %s: %s [%s]", finding.source, finding.message, finding.code
            )
        if report.intact:
            log.info(
                "audit trail intact: %d events, %d after the latest checkpoint",
                report.chain.events_checked,
                report.events_after,
            )
        return {
            "events_checked": report.chain.events_checked,
            "first_break": chain_break.event_id if chain_break else None,
            "checkpoint_breaks": [finding.code for finding in report.breaks],
        }

    # Daily, after midnight UTC so "today" is the new day. Every worker process schedules it:
    # each run takes the audit chain's lock before reading what has expired, so a second run
    # finds every decision already alerted.
    @huey.periodic_task(crontab(hour="0", minute="31"), name="risk.expire_decisions")
    def expire_risk_decisions() -> dict[str, list[int]]:
        with transaction(sessions) as session:
            result = expire_decisions(session, utcnow().date())
            after_exceptions_ended(session, result.exceptions, "exception_expired")
        if result.alerts:
            log.info("risk register: %d expired decisions alerted", len(result.alerts))
        return {"acceptances": result.acceptances, "exceptions": result.exceptions}

    # Daily. After a release that changes the rules (or how they read facts), every supplier
    # assessment still in play is moved to its target and its supplier told, before any gate
    # fails on it. Each run takes the audit chain's lock first, so a second finds nothing to move.
    @huey.periodic_task(crontab(hour="1", minute="7"), name="profiles.retarget")
    def retarget_profiles() -> dict[str, int]:
        with transaction(sessions) as session:
            moved = retarget_estate(session, SYSTEM)
        if moved:
            log.info("target profiles: %d assessments moved to their targets", moved)
        return {"moved": moved}

    # Daily, at night. Every worker process schedules it: each batch takes the audit chain's
    # lock before it reads what is due, so a second sweep finds nothing left to do. It applies
    # the retention_policy setting (else the shipped policy) and sweeps nothing when
    # retention_schedule is off or that policy is refused (posture.retention.sweep).
    @huey.periodic_task(crontab(hour="3", minute="23"), name="retention.sweep")
    def sweep_retention() -> dict[str, Any]:
        from posture.retention.sweep import run_scheduled  # loaded once a day, not per worker

        return run_scheduled(settings)

    return queue
