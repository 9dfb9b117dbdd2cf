"""A real `assure worker` process for tests, and waiting for a job to settle."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.check_requests import CheckRequest
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import JobQueue, build_queue
from posture.storage.models import Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World

LOOPBACK = "127.0.0.0/8,::1/128"
SETTLED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED})


def worker_env(settings: Settings, egress_allow: str = LOOPBACK) -> dict[str, str]:
    """This test's data folder and database, and only the egress the test allows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(settings.data_dir), "ASSURE_EGRESS_ALLOW": egress_allow}
    if settings.database_url:
        env["ASSURE_DATABASE_URL"] = settings.database_url
    return env


@contextmanager
def running_worker(
    settings: Settings,
    egress_allow: str = LOOPBACK,
    threads: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "assure_cli.main", "worker", "--threads", str(threads)],
        env=worker_env(settings, egress_allow) | (extra_env or {}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def wait_for_jobs(
    sessions: sessionmaker[Session],
    job_ids: list[int],
    statuses: frozenset[RunStatus] = SETTLED,
    timeout: float = 120,
) -> dict[int, Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            jobs = {job_id: session.get(Job, job_id) for job_id in job_ids}
        if all(job is not None and job.status in statuses for job in jobs.values()):
            return jobs  # type: ignore[return-value]
        time.sleep(0.2)
    raise AssertionError(f"jobs {job_ids} did not all reach {sorted(statuses)}")


def app_queue(settings: Settings, egress_allow: str = LOOPBACK) -> JobQueue:
    """The queue as the app builds it, under the egress settings the test's worker has: the app
    refuses at submission a target its policy forbids, so the two must agree, as they do in a
    deployment."""
    allowed = tuple(cidr for cidr in egress_allow.split(",") if cidr)
    return build_queue(settings.model_copy(update={"egress_allow": allowed}))


def submit_as_supplier(
    sessions: sessionmaker[Session],
    settings: Settings,
    world: World,
    request: CheckRequest,
    data: bytes | None = None,
    egress_allow: str = LOOPBACK,
) -> int:
    """Queue `request` (with its file) for supplier s1's product as one of its members does
    from the app."""
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    member = world.principal(Role.SUPPLIER_MEMBER)
    queue = app_queue(settings, egress_allow)
    return submit_check(sessions, queue, member, product_id, request, data)
