"""Under `assure serve`, a worker killed with SIGKILL during a check never stops the app, and
its job is retried at once, then failed once its attempts run out; it is never left running."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.check_requests import CheckRequest
from posture.storage.models import Job
from posture.storage.models.enums import RunStatus
from tests.identity.world import World
from tests.peers.processes import free_port
from tests.peers.serve_process import assure_serve, wait_until
from tests.peers.servers import LoopbackServer
from tests.peers.workers import submit_as_supplier, worker_env

pytestmark = pytest.mark.slow

Db = tuple[World, sessionmaker[Session], Settings]


def _job(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _running_attempt(sessions: sessionmaker[Session], job_id: int, attempt: int) -> Job | None:
    job = _job(sessions, job_id)
    return job if job.status is RunStatus.RUNNING and job.attempts == attempt else None


def _past_attempt(sessions: sessionmaker[Session], job_id: int, attempt: int) -> bool:
    job = _job(sessions, job_id)
    return job.status is not RunStatus.RUNNING or job.attempts > attempt


def _worker_pid(job: Job) -> int:
    assert job.claimed_by is not None
    return int(job.claimed_by.split(":")[1])


def test_a_worker_killed_during_a_check_leaves_the_app_up_and_the_job_retried_then_failed(
    world_db: Db,
) -> None:
    world, sessions, settings = world_db
    released = threading.Event()

    def accept_and_never_answer(_sock: socket.socket) -> None:
        # The check's spec download waits 10 s for an answer: long enough to kill its worker.
        released.wait(60)

    env = worker_env(settings)
    to_settled: list[float] = []
    killed: list[int] = []
    try:
        with (
            LoopbackServer(accept_and_never_answer) as stalling,
            assure_serve(env, free_port()) as serve,
        ):
            request = CheckRequest(kind="api", target=f"http://127.0.0.1:{stalling.port}/spec")
            job_id = submit_as_supplier(sessions, settings, world, request)
            for attempt in (1, 2, 3):
                job = wait_until(
                    lambda a=attempt: _running_attempt(sessions, job_id, a),
                    60,
                    f"attempt {attempt} to start",
                )
                assert job is not None
                pid = _worker_pid(job)
                assert pid in serve.children("assure_cli.main worker"), serve.output
                os.kill(pid, signal.SIGKILL)
                at = time.monotonic()
                killed.append(pid)
                wait_until(
                    lambda a=attempt: _past_attempt(sessions, job_id, a),
                    10,
                    f"attempt {attempt}'s job to be settled",
                )
                to_settled.append(time.monotonic() - at)
                job = _job(sessions, job_id)
                expected = RunStatus.QUEUED if attempt < 3 else RunStatus.FAILED
                assert job.status is expected or job.attempts == attempt + 1, job.status
                assert serve.healthy(), "the app stopped answering after a worker was killed"
            assert job.status is RunStatus.FAILED
            assert job.attempts == 3
            assert job.error == "gave up after 3 attempts: the worker stopped each time"
            # The worker comes back once more and finds nothing to do: the job stays failed.
            wait_until(
                lambda: set(serve.children("assure_cli.main worker")) - set(killed),
                30,
                "a fourth worker",
            )
            time.sleep(2)
            assert _job(sessions, job_id).status is RunStatus.FAILED
            assert serve.healthy()
        output = serve.output
        assert serve.process.returncode == 0, output
    finally:
        released.set()
    assert f"worker 1 (pid {killed[0]}) was killed by SIGKILL; requeued job {job_id}" in output
    assert f"worker 1 (pid {killed[2]}) was killed by SIGKILL; failed job {job_id}" in output
    # The supervisor reaps and settles within one poll; seconds would mean it waited for
    # the heartbeat to go stale instead.
    assert max(to_settled) < 5, to_settled
