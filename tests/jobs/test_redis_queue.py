"""The job queue on a real Redis (127.0.0.1:6379) when ASSURE_REDIS_URL is set."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.check_requests import CheckRequest
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models import Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_reason() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure to reach it means: skip, and say why
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    return None


@pytest.mark.skipif(_redis_reason() is not None, reason=str(_redis_reason()))
def test_a_check_job_travels_through_redis_and_runs(
    world_db: tuple[World, sessionmaker[Session], Settings],
    cert_request: CheckRequest,
    cert_bytes: bytes,
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(
        settings.model_copy(update={"redis_url": REDIS_URL}), name=f"test-{uuid.uuid4().hex}"
    )
    try:
        job_id = submit_check(
            sessions,
            queue,
            world.principal(Role.SUPPLIER_MEMBER),
            product_id,
            cert_request,
            cert_bytes,
        )
        assert queue.huey.pending_count() == 1
        task = queue.huey.dequeue()
        assert task is not None
        assert task.args == (job_id,)
        assert queue.huey.execute(task) == "succeeded"
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            assert job.status is RunStatus.SUCCEEDED
    finally:
        queue.huey.storage.flush_all()
