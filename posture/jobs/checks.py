"""Check jobs: queued by users, run by a worker, with progress, heartbeats and recovery.

A job row is the truth the app polls; the queue only carries the job id. A worker claims a job
with a conditional update, so two workers never run the same job; a worker that dies stops
heartbeating, and `recover_stale_jobs` puts its job back in the queue or fails it for good.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from checks.report import CheckReport
from posture.audit import SYSTEM, Actor, record
from posture.check_runs import record_check_run
from posture.errors import AssureError, ValidationFailed
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.monitoring.alerts import record_endpoint_run
from posture.storage.base import utcnow
from posture.storage.engine import transaction
from posture.storage.models import Job, Product
from posture.storage.models.enums import RunStatus

log = logging.getLogger("assure.jobs")

MAX_FILE_BYTES = 10 * 1024 * 1024
STALE_AFTER = timedelta(minutes=5)


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    kind: str = Field(pattern=r"^(tls|ssh|cert|jwks|cbom|api)$")
    target: str = Field(default="", max_length=300)
    file_name: str = Field(default="", max_length=255)
    file_base64: str = Field(default="", max_length=MAX_FILE_BYTES * 4 // 3 + 8)
    base_url: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _inputs(self) -> CheckRequest:
        if self.kind in ("tls", "ssh") and not self.target:
            raise ValueError("target: give host:port")
        # An API check reads its description from an uploaded file or from a published URL.
        remote_api = self.kind == "api" and self.target.startswith(("https://", "http://"))
        if self.kind not in ("tls", "ssh") and not self.file_base64 and not remote_api:
            raise ValueError("file: choose a file to check")
        return self


def _file(request: CheckRequest) -> bytes:
    return base64.b64decode(request.file_base64.encode(), validate=True)


def run_request(request: CheckRequest, policy: EgressPolicy) -> CheckReport:
    if request.kind == "tls":
        from checks.tls.check import run_tls_check

        return run_tls_check(request.target, policy)
    if request.kind == "ssh":
        from checks.ssh import run_ssh_check

        return run_ssh_check(request.target, policy)
    raw, name = _file(request), request.file_name or request.kind
    if request.kind == "cert":
        from checks.certificate_file import run_certificate_check

        return run_certificate_check(raw, name)
    if request.kind == "jwks":
        from checks.jwks import run_jwks_check

        return run_jwks_check(raw, name)
    if request.kind == "cbom":
        from checks.cbom import run_cbom_check

        return run_cbom_check(raw, name)
    from checks.api.check import run_api_check
    from checks.api.live import LiveSettings

    live = LiveSettings(max_examples=15, budget_seconds=30)
    if not request.file_base64:
        return run_api_check(request.target, policy, request.base_url or None, [], live)
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / Path(name).name
        spec.write_bytes(raw)
        return run_api_check(
            str(spec),
            policy,
            request.base_url or None,
            [],
            live,
        )


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


def _progress(sessions: sessionmaker[Session], job_id: int, progress: float, message: str) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(progress=progress, message=message, heartbeat_at=utcnow())
        )


def claim(sessions: sessionmaker[Session], job_id: int) -> bool:
    """queued -> running, only if still queued: a second worker gets False."""
    with transaction(sessions) as session:
        now = utcnow()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RunStatus.QUEUED)
            .values(
                status=RunStatus.RUNNING,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                progress=0.05,
                message="started",
            )
        )
        return bool(claimed.rowcount)


def execute_check_job(
    sessions: sessionmaker[Session],
    policy: EgressPolicy,
    job_id: int,
    runner: Callable[[CheckRequest, EgressPolicy], CheckReport] = run_request,
) -> str:
    """Run one job to a final state; returns that state. Refusals fail the job with the reason."""
    if not claim(sessions, job_id):
        return "skipped"
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        payload: dict[str, Any] = dict(job.payload)
        requester = job.requested_by_user_id
    try:
        request = CheckRequest.model_validate(payload["request"])
        _progress(sessions, job_id, 0.2, f"running the {request.kind} check")
        report = runner(request, policy)
        _progress(sessions, job_id, 0.9, "recording the results")
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
                record_endpoint_run(session, payload["endpoint_id"], run, report)
            job.status, job.progress, job.finished_at = RunStatus.SUCCEEDED, 1.0, utcnow()
            score = "n/a" if report.score is None else f"{report.score:g}"
            job.message = f"check run {run.id}: score {score}"
            job.payload = {**payload, "check_run_id": run.id}
        return "succeeded"
    except (AssureError, ValueError) as exc:
        _fail(sessions, job_id, " ".join(str(exc).split())[:2000], "refused")
        return "failed"
    except Exception:
        # The detail stays in the worker log; the user is told where to look, not the traceback.
        log.exception("check job %d stopped with an internal error", job_id)
        _fail(sessions, job_id, "the check stopped with an internal error", "error")
        return "failed"


def _fail(sessions: sessionmaker[Session], job_id: int, error: str, message: str) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=RunStatus.FAILED, error=error, finished_at=utcnow(), message=message)
        )


def recover_stale_jobs(
    session: Session, now: datetime, stale_after: timedelta = STALE_AFTER
) -> tuple[list[int], list[int]]:
    """Jobs whose worker stopped heartbeating: requeued while attempts remain, else failed."""
    requeued, failed = [], []
    for job in session.scalars(
        select(Job).where(Job.status == RunStatus.RUNNING, Job.heartbeat_at < now - stale_after)
    ):
        if job.attempts < job.max_attempts:
            job.status, job.message = RunStatus.QUEUED, "requeued after its worker stopped"
            requeued.append(job.id)
        else:
            job.status, job.finished_at = RunStatus.FAILED, now
            job.error = f"gave up after {job.attempts} attempts: the worker stopped each time"
            failed.append(job.id)
    if requeued or failed:
        record(
            session,
            SYSTEM,
            "job.recovered",
            "job",
            "stale",
            {"requeued": requeued, "failed": failed},
        )
    return requeued, failed


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
