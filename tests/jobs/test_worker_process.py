"""A real `assure worker` process takes jobs from the SQLite queue; a killed worker that no
supervisor watches stops heartbeating, and its job is recovered and finished by the next one."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.check_requests import CheckRequest
from posture.jobs.dispatch import submit_check
from posture.jobs.recovery import STALE_AFTER, recover_stale_jobs
from posture.storage.engine import transaction
from posture.storage.models import Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler
from tests.peers.workers import app_queue, running_worker, wait_for_jobs

Db = tuple[World, sessionmaker[Session], Settings]


def wait_for(sessions: sessionmaker[Session], job_id: int, statuses: set[RunStatus]) -> Job:
    return wait_for_jobs(sessions, [job_id], frozenset(statuses), timeout=60)[job_id]


def test_a_worker_process_runs_a_queued_tls_check(world_db: Db, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    cert, key = make_certificate(tmp_path)
    queue = app_queue(settings)
    with LoopbackServer(pyopenssl_handler(cert, key)) as server, running_worker(settings):
        request = CheckRequest(kind="tls", target=f"127.0.0.1:{server.port}")
        job_id = submit_check(
            sessions, queue, world.principal(Role.SUPPLIER_MEMBER), product_id, request
        )
        job = wait_for(sessions, job_id, {RunStatus.SUCCEEDED, RunStatus.FAILED})
    assert job.status is RunStatus.SUCCEEDED, job.error
    assert job.payload["check_run_id"] > 0
    assert job.attempts == 1


def test_a_killed_workers_job_is_recovered_and_finished(world_db: Db, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    cert, key = make_certificate(tmp_path)
    tls = pyopenssl_handler(cert, key)
    stalled = threading.Event()
    stalled.set()

    def handler(sock) -> None:  # type: ignore[no-untyped-def]
        # While stalled the endpoint answers nothing, which keeps the first worker mid-check.
        deadline = time.monotonic() + 30
        while stalled.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        tls(sock)

    queue = app_queue(settings)
    with LoopbackServer(handler) as server:
        request = CheckRequest(kind="tls", target=f"127.0.0.1:{server.port}")
        job_id = submit_check(
            sessions, queue, world.principal(Role.SUPPLIER_MEMBER), product_id, request
        )
        with running_worker(settings) as first:
            wait_for(sessions, job_id, {RunStatus.RUNNING})
            first.kill()
            first.wait(timeout=10)
        with sessions() as session:
            assert session.get(Job, job_id).status is RunStatus.RUNNING  # type: ignore[union-attr]
        later = utcnow() + STALE_AFTER + timedelta(seconds=1)
        with transaction(sessions) as session:
            assert recover_stale_jobs(session, later) == ([job_id], [])
        queue.run_check(job_id)
        stalled.clear()
        with running_worker(settings):
            job = wait_for(sessions, job_id, {RunStatus.SUCCEEDED, RunStatus.FAILED})
    assert job.status is RunStatus.SUCCEEDED, job.error
    assert job.attempts == 2
