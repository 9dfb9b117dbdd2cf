"""Check jobs: queued by users, run by a worker, with progress, heartbeats and recovery.

A job row is the truth the app polls; the queue only carries the job id. A worker claims a job
with a conditional update that names the worker, so two workers never run the same job, and
every later write is conditional on that claim still holding: a worker whose job was recovered
from under it (it looked dead) cannot overwrite the next attempt. While the check runs, a
background heartbeat shows the worker is alive; `posture.jobs.recovery` settles jobs whose
worker stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, sessionmaker

from checks.catalogue import spec_for
from checks.egress import EgressPolicy
from checks.report import CheckReport
from kernel.clock import utcnow
from kernel.errors import AssureError, ValidationFailed
from posture.audit import Actor, record
from posture.blobs import BlobStore
from posture.check_requests import CheckRequest
from posture.check_runs import record_check_run
from posture.findings.tracking import track_check_run
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.jobs.heartbeat import heartbeat
from posture.jobs.workers import audit_name
from posture.monitoring.alerts import record_endpoint_run
from posture.passport.watch import after_check_run
from posture.portfolio.blast_radius import relay_to_deployers
from posture.storage.engine import transaction
from posture.storage.models import Job, Product
from posture.storage.models.enums import RunStatus

log = logging.getLogger("assure.jobs")

# Well inside recovery.STALE_AFTER, so a healthy check that runs for minutes is never recovered.
HEARTBEAT_EVERY = 10.0


Runner = Callable[[CheckRequest, EgressPolicy, bytes | None], CheckReport]
# Told each check's kind, how its job ended and the seconds the check ran (the worker's metrics).
ObserveCheck = Callable[[str, str, float], None]


def run_request(request: CheckRequest, policy: EgressPolicy, data: bytes | None) -> CheckReport:
    """The job's check, run in the sandbox: a hostile file or peer can end only that child."""
    from checks.api.live import LiveSettings
    from checks.sandbox.request import SandboxedCheck
    from checks.sandbox.run import run_sandboxed

    # Bounded by examples, so a job's findings are the same each time it runs; the budget is the
    # safety net past which a hanging API fails the gate (API-LIVE-002).
    live = LiveSettings(max_examples=15, budget_seconds=120)
    check = SandboxedCheck(
        kind=request.kind,
        target=request.target,
        file_name=request.file_name or request.kind,
        base_url=request.base_url or None,
        live=asdict(live) if spec_for(request.kind).live else None,
    )
    return run_sandboxed(check, policy, data)


def create_check_job(
    session: Session, principal: Principal, product_id: int, request: CheckRequest
) -> Job:
    product = load_visible(session, Product, product_id, principal, "check.run", "product")
    job = Job(
        kind="check",
        status=RunStatus.QUEUED,
        organisation_id=product.organisation_id,
        product_id=product.id,
        requested_by_user_id=principal.user_id,
        payload={"product_id": product.id, "request": request.model_dump()},
    )
    session.add(job)
    session.flush()
    record(
        session,
        actor_of(principal),
        "job.queued",
        "job",
        job.id,
        {"kind": request.kind, "product_id": product.id},
        organisation_id=product.organisation_id,
    )
    return job


def job_for(session: Session, principal: Principal, job_id: int) -> Job:
    return load_visible(session, Job, job_id, principal, "check.read", "job")


class ClaimLost(Exception):
    """The job is no longer this worker's (recovered as stale, then claimed again or failed)."""


def _held_by(job_id: int, worker: str) -> tuple[ColumnElement[bool], ...]:
    return Job.id == job_id, Job.status == RunStatus.RUNNING, Job.claimed_by == worker


def _beat(sessions: sessionmaker[Session], job_id: int, worker: str, **values: Any) -> bool:
    """Heartbeat (and any progress) on a job this worker still holds; False once it does not."""
    with transaction(sessions) as session:
        changed = session.execute(
            update(Job).where(*_held_by(job_id, worker)).values(heartbeat_at=utcnow(), **values)
        )
        return bool(changed.rowcount)


def _progress(
    sessions: sessionmaker[Session], job_id: int, worker: str, progress: float, message: str
) -> None:
    if not _beat(sessions, job_id, worker, progress=progress, message=message):
        raise ClaimLost(job_id)


def _worker_actor(worker: str) -> Actor:
    return Actor(audit_name(worker) or "worker")


def claim(sessions: sessionmaker[Session], job_id: int, worker: str) -> bool:
    """queued -> running for `worker`, only if still queued: a second worker gets False.
    The attempt is counted here, so an attempt whose worker dies mid-check still counts."""
    with transaction(sessions) as session:
        now = utcnow()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RunStatus.QUEUED)
            .values(
                status=RunStatus.RUNNING,
                attempts=Job.attempts + 1,
                claimed_by=worker,
                started_at=now,
                heartbeat_at=now,
                progress=0.05,
                message="started",
            )
        )
        if not claimed.rowcount:
            return False
        job = session.get(Job, job_id)
        assert job is not None
        record(
            session,
            _worker_actor(worker),
            "job.started",
            "job",
            job_id,
            {"attempt": job.attempts, "worker": audit_name(worker)},
            organisation_id=job.organisation_id,
        )
        return True


def execute_check_job(
    sessions: sessionmaker[Session],
    policy: EgressPolicy,
    job_id: int,
    runner: Runner = run_request,
    *,
    worker: str,
    files: BlobStore,
    heartbeat_every: float = HEARTBEAT_EVERY,
    observe: ObserveCheck | None = None,
) -> str:
    """Run one job to a final state as `worker`; returns that state. Refusals fail the job with
    the reason; a job recovered from under this worker is left to whoever holds it now."""
    if not claim(sessions, job_id, worker):
        return "skipped"
    timing: dict[str, Any] = {}
    state = _execute(sessions, policy, job_id, runner, worker, files, heartbeat_every, timing)
    if observe is not None and "kind" in timing:
        observe(timing["kind"], state, timing.get("seconds", 0.0))
    return state


def _execute(
    sessions: sessionmaker[Session],
    policy: EgressPolicy,
    job_id: int,
    runner: Runner,
    worker: str,
    files: BlobStore,
    heartbeat_every: float,
    timing: dict[str, Any],
) -> str:
    """The claimed job's run; `timing` is given the check's kind and the seconds it ran."""
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        payload: dict[str, Any] = dict(job.payload)
        requester = job.requested_by_user_id
    try:
        request = CheckRequest.model_validate(payload["request"])
        timing["kind"] = request.kind
        _progress(sessions, job_id, worker, 0.2, f"running the {request.kind} check")
        data = files.get(request.file_sha256) if request.file_sha256 else None
        started = time.perf_counter()
        try:
            with heartbeat(lambda: _beat(sessions, job_id, worker), heartbeat_every):
                report = runner(request, policy, data)
        finally:
            timing["seconds"] = time.perf_counter() - started
        _progress(sessions, job_id, worker, 0.9, "recording the results")
        _succeed(sessions, job_id, worker, payload, requester, report)
        return "succeeded"
    except ClaimLost:
        log.warning("check job %d was recovered from this worker; dropping its result", job_id)
        return "abandoned"
    except (AssureError, ValueError) as exc:
        return _fail(sessions, job_id, worker, " ".join(str(exc).split())[:2000], "refused")
    except Exception:
        # The detail stays in the worker log; the user is told where to look, not the traceback.
        log.exception("check job %d stopped with an internal error", job_id)
        return _fail(sessions, job_id, worker, "the check stopped with an internal error", "error")


def _succeed(
    sessions: sessionmaker[Session],
    job_id: int,
    worker: str,
    payload: dict[str, Any],
    requester: int | None,
    report: CheckReport,
) -> None:
    with transaction(sessions) as session:
        job = session.get(Job, job_id)
        product = session.get(Product, payload["product_id"])
        if job is None or product is None:
            raise ValidationFailed("the product no longer exists")
        run = record_check_run(
            session,
            Actor(f"worker for user {requester}", requester),
            report,
            product.organisation_id,
            product.id,
        )
        run.job_id = job.id
        if payload.get("endpoint_id"):
            alerts = record_endpoint_run(session, payload["endpoint_id"], run, report)
            relay_to_deployers(session, alerts)
        # In the same transaction: a passport must not outlive the run that contradicts it.
        after_check_run(session, run)
        track_check_run(session, run)
        score = "n/a" if report.score is None else f"{report.score:g}"
        finished = session.execute(
            update(Job)
            .where(*_held_by(job_id, worker))
            .values(
                status=RunStatus.SUCCEEDED,
                progress=1.0,
                finished_at=utcnow(),
                message=f"check run {run.id}: score {score}",
                payload={**payload, "check_run_id": run.id},
            )
            .execution_options(synchronize_session=False)
        )
        if not finished.rowcount:
            raise ClaimLost(job_id)  # rolls back the run recorded above
        record(
            session,
            _worker_actor(worker),
            "job.succeeded",
            "job",
            job_id,
            {"check_run_id": run.id},
            organisation_id=job.organisation_id,
        )


def _fail(
    sessions: sessionmaker[Session], job_id: int, worker: str, error: str, message: str
) -> str:
    with transaction(sessions) as session:
        failed = session.execute(
            update(Job)
            .where(*_held_by(job_id, worker))
            .values(status=RunStatus.FAILED, error=error, finished_at=utcnow(), message=message)
            .execution_options(synchronize_session=False)
        )
        if not failed.rowcount:
            return "abandoned"
        organisation_id = session.scalar(select(Job.organisation_id).where(Job.id == job_id))
        record(
            session,
            _worker_actor(worker),
            "job.failed",
            "job",
            job_id,
            {"error": error},
            organisation_id=organisation_id,
        )
        return "failed"


def list_product_jobs(
    session: Session, principal: Principal, product_id: int, limit: int = 20
) -> list[Job]:
    """The product's latest check jobs, newest first, for users who may read its checks."""
    load_visible(session, Product, product_id, principal, "check.read", "product")
    return list(
        session.scalars(
            select(Job)
            .where(Job.kind == "check", Job.product_id == product_id)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )
