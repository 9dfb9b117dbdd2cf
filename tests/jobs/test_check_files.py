"""Files a check reads are kept once, by SHA-256, and jobs refer to them by digest: no copy of
the file rides in the job, a changed file fails the job, and nothing is kept for a refused user."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.blobs import BlobStore
from posture.check_requests import CheckRequest, file_fields
from posture.identity.permissions import NotFound, PermissionDenied
from posture.jobs.checks import execute_check_job
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models import Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]


def _stored(settings: Settings) -> list[str]:
    folder = BlobStore.for_settings(settings).folder
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_same_file_checked_twice_is_stored_once_and_jobs_carry_only_its_digest(
    world_db: Db, cert_request: CheckRequest, cert_bytes: bytes
) -> None:
    world, sessions, settings = world_db
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    member = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    jobs = [
        submit_check(sessions, queue, member, product_id, cert_request, cert_bytes)
        for _ in range(2)
    ]
    assert _stored(settings) == [cert_request.file_sha256]
    with sessions() as session:
        for job_id in jobs:
            job = session.get_one(Job, job_id)
            assert job.status is RunStatus.SUCCEEDED, job.error
            payload = json.dumps(job.payload)
            assert cert_request.file_sha256 in payload
            assert len(payload) < 1000


def test_a_file_changed_in_the_store_fails_its_job(
    world_db: Db, cert_request: CheckRequest, cert_bytes: bytes
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    member = world.principal(Role.SUPPLIER_MEMBER)
    waiting = build_queue(settings)  # nothing runs it until the test says so
    job_id = submit_check(sessions, waiting, member, product_id, cert_request, cert_bytes)
    BlobStore.for_settings(settings).path(cert_request.file_sha256).write_bytes(b"tampered")
    files = BlobStore.for_settings(settings)
    assert execute_check_job(sessions, EgressPolicy(), job_id, worker="h:1:a", files=files) == (
        "failed"
    )
    with sessions() as session:
        assert "changed after it was stored" in (session.get_one(Job, job_id).error or "")


def test_a_file_that_does_not_match_its_request_queues_nothing(
    world_db: Db, cert_request: CheckRequest
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(settings)
    member = world.principal(Role.SUPPLIER_MEMBER)
    with pytest.raises(ValidationFailed, match="does not match"):
        submit_check(sessions, queue, member, product_id, cert_request, b"something else")
    with pytest.raises(ValidationFailed, match="does not match"):
        submit_check(sessions, queue, member, product_id, cert_request, None)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert _stored(settings) == []


def test_nothing_is_kept_for_someone_who_may_not_check_the_product(
    world_db: Db, cert_bytes: bytes
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    outsider = world.principal(Role.SUPPLIER_MEMBER)
    outsider = outsider.__class__(outsider.user_id, outsider.email, ())
    request = CheckRequest(kind="cert", **file_fields("leaf.pem", cert_bytes))
    with pytest.raises((NotFound, PermissionDenied)):
        submit_check(sessions, build_queue(settings), outsider, product_id, request, cert_bytes)
    assert _stored(settings) == []


def test_twenty_parallel_writers_of_one_file_leave_one_whole_copy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = BlobStore(tmp_path / "uploads")
    data = b"x" * 2_000_000
    with ThreadPoolExecutor(max_workers=20) as pool:
        digests = set(pool.map(lambda _: store.put(data), range(20)))
    assert len(digests) == 1
    assert sorted(p.name for p in store.folder.iterdir()) == sorted(digests)
    assert store.get(digests.pop()) == data
