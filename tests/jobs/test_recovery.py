"""A job whose worker stopped is retried, then failed once its attempts run out; a job whose
worker is alive is never touched; a long check keeps heartbeating."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from checks.report import CheckReport
from kernel.clock import utcnow
from kernel.settings import Settings
from posture.blobs import BlobStore
from posture.check_requests import CheckRequest
from posture.jobs.checks import claim, create_check_job, execute_check_job
from posture.jobs.checks import run_request as real_runner
from posture.jobs.recovery import STALE_AFTER, recover_stale_jobs, release_worker_jobs
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, CheckRun, Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
KILLED = "its worker was killed by SIGKILL"


def _queued_job(world_db: Db, request: CheckRequest) -> int:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    with transaction(sessions) as session:
        return create_check_job(
            session, world.principal(Role.SUPPLIER_MEMBER), product_id, request
        ).id


def _job(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _release(sessions: sessionmaker[Session], worker: str) -> tuple[list[int], list[int]]:
    with transaction(sessions) as session:
        return release_worker_jobs(session, worker, utcnow(), KILLED)


def _recover(sessions: sessionmaker[Session], now: datetime) -> tuple[list[int], list[int]]:
    with transaction(sessions) as session:
        return recover_stale_jobs(session, now)


def _job_actions(sessions: sessionmaker[Session], job_id: int) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "job", AuditEvent.object_id == str(job_id))
                .order_by(AuditEvent.id)
            )
        )


def test_a_dead_workers_job_is_requeued_while_attempts_remain_then_failed(
    world_db: Db, cert_request: CheckRequest
) -> None:
    _, sessions, _ = world_db
    job_id = _queued_job(world_db, cert_request)
    for attempt, worker in enumerate(("host:11:a", "host:12:b"), start=1):
        assert claim(sessions, job_id, worker)
        assert _release(sessions, worker) == ([job_id], [])
        job = _job(sessions, job_id)
        assert (job.status, job.attempts) == (RunStatus.QUEUED, attempt)
        assert job.message == f"requeued: {KILLED}"
    assert claim(sessions, job_id, "host:13:c")
    assert _release(sessions, "host:13:c") == ([], [job_id])
    job = _job(sessions, job_id)
    assert (job.status, job.attempts) == (RunStatus.FAILED, 3)
    assert job.error == "gave up after 3 attempts: the worker stopped each time"
    assert job.finished_at is not None
    assert _job_actions(sessions, job_id) == [
        "job.queued",
        *["job.started", "job.requeued"] * 2,
        "job.started",
        "job.failed",
    ]


def test_a_job_claimed_by_a_live_worker_is_not_touched(
    world_db: Db, cert_request: CheckRequest
) -> None:
    _, sessions, _ = world_db
    job_id = _queued_job(world_db, cert_request)
    assert claim(sessions, job_id, "host:20:alive")
    assert _release(sessions, "host:21:dead") == ([], [])
    assert _release(sessions, "host:20:other-start") == ([], [])  # same pid, another start
    assert _recover(sessions, utcnow()) == ([], [])
    job = _job(sessions, job_id)
    assert (job.status, job.claimed_by) == (RunStatus.RUNNING, "host:20:alive")


def test_jobs_that_stopped_heartbeating_are_requeued_then_failed(
    world_db: Db, cert_request: CheckRequest
) -> None:
    """The backstop for workers nobody watches, such as those on another host."""
    _, sessions, _ = world_db
    stale_id = _queued_job(world_db, cert_request)
    fresh_id = _queued_job(world_db, cert_request)
    assert claim(sessions, fresh_id, "elsewhere:1:a")
    later = utcnow() + STALE_AFTER + timedelta(seconds=1)
    with transaction(sessions) as session:
        session.get(Job, fresh_id).heartbeat_at = later  # type: ignore[union-attr]
    for _ in range(2):
        assert claim(sessions, stale_id, "elsewhere:2:b")
        assert _recover(sessions, later) == ([stale_id], [])
    assert claim(sessions, stale_id, "elsewhere:2:b")
    assert _recover(sessions, later) == ([], [stale_id])
    assert _job(sessions, fresh_id).status is RunStatus.RUNNING
    job = _job(sessions, stale_id)
    assert (job.status, job.attempts) == (RunStatus.FAILED, 3)
    assert "gave up after 3 attempts" in (job.error or "")


def test_heartbeats_advance_while_a_slow_check_runs(
    world_db: Db, cert_request: CheckRequest, files: BlobStore
) -> None:
    _, sessions, _ = world_db
    job_id = _queued_job(world_db, cert_request)
    seen: set[datetime] = set()

    def slow(request: CheckRequest, policy: EgressPolicy, data: bytes | None) -> CheckReport:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            seen.add(_job(sessions, job_id).heartbeat_at)  # type: ignore[arg-type]
            time.sleep(0.05)
        return real_runner(request, policy, data)

    state = execute_check_job(
        sessions,
        EgressPolicy(),
        job_id,
        slow,
        worker="host:30:a",
        heartbeat_every=0.2,
        files=files,
    )
    assert state == "succeeded"
    # The beat before the check starts, then one every 0.2 s for 1.5 s.
    assert len(seen) >= 5


def test_a_worker_whose_job_was_recovered_from_under_it_records_nothing(
    world_db: Db, cert_request: CheckRequest, files: BlobStore
) -> None:
    """A worker that only looked dead (stalled past the heartbeat limit) comes back to find the
    job retried by another: its late result must not overwrite the new attempt."""
    _, sessions, _ = world_db
    job_id = _queued_job(world_db, cert_request)

    def stalled(request: CheckRequest, policy: EgressPolicy, data: bytes | None) -> CheckReport:
        later = utcnow() + STALE_AFTER + timedelta(seconds=1)
        assert _recover(sessions, later) == ([job_id], [])
        assert claim(sessions, job_id, "host:41:second")
        return real_runner(request, policy, data)

    state = execute_check_job(
        sessions, EgressPolicy(), job_id, stalled, worker="host:40:first", files=files
    )
    assert state == "abandoned"
    job = _job(sessions, job_id)
    assert (job.status, job.attempts, job.claimed_by) == (RunStatus.RUNNING, 2, "host:41:second")
    with sessions() as session:
        assert session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).all() == []
