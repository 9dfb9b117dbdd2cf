"""A real `assure worker` process takes jobs from the SQLite queue; a killed worker's job is
recovered and finished by the next one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from posture.config import Settings
from posture.jobs.checks import STALE_AFTER, CheckRequest, recover_stale_jobs
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.base import utcnow
from posture.storage.engine import transaction
from posture.storage.models import Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler

Db = tuple[World, sessionmaker[Session], Settings]
LOOPBACK = "127.0.0.0/8,::1/128"


@contextmanager
def worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(settings.data_dir), "ASSURE_EGRESS_ALLOW": LOOPBACK}
    process = subprocess.Popen(
        [sys.executable, "-m", "assure_cli.main", "worker", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)


def wait_for(sessions: sessionmaker[Session], job_id: int, statuses: set[RunStatus]) -> Job:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            if job.status in statuses:
                return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {statuses}")


def test_a_worker_process_runs_a_queued_tls_check(world_db: Db, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    cert, key = make_certificate(tmp_path)
    queue = build_queue(settings)
    with LoopbackServer(pyopenssl_handler(cert, key)) as server, worker(settings):
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

    queue = build_queue(settings)
    with LoopbackServer(handler) as server:
        request = CheckRequest(kind="tls", target=f"127.0.0.1:{server.port}")
        job_id = submit_check(
            sessions, queue, world.principal(Role.SUPPLIER_MEMBER), product_id, request
        )
        with worker(settings) as first:
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
        with worker(settings):
            job = wait_for(sessions, job_id, {RunStatus.SUCCEEDED, RunStatus.FAILED})
    assert job.status is RunStatus.SUCCEEDED, job.error
    assert job.attempts == 2
