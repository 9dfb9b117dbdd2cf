"""Check jobs in huey's immediate mode: states, tenancy, refusals and claiming."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from kernel.settings import Settings
from posture.blobs import BlobStore
from posture.check_requests import CheckRequest
from posture.identity.permissions import NotFound, PermissionDenied
from posture.jobs.checks import (
    claim,
    create_check_job,
    execute_check_job,
    job_for,
    list_product_jobs,
)
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, CheckRun, Job
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
WORKER = "testhost:4242:cafe"


def _product(world: World) -> int:
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    return product_id


def _immediate(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"queue_immediate": True, **changes})


def test_a_queued_check_runs_and_becomes_the_products_evidence(
    world_db: Db, cert_request: CheckRequest, cert_bytes: bytes
) -> None:
    world, sessions, settings = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = _product(world)
    queue = build_queue(_immediate(settings))
    job_id = submit_check(sessions, queue, supplier, product_id, cert_request, cert_bytes)
    with sessions() as session:
        job = job_for(session, supplier, job_id)
        assert (job.status, job.progress, job.attempts) == (RunStatus.SUCCEEDED, 1.0, 1)
        run = session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).one()
        assert run.product_id == product_id
        assert run.kind == "cert"
        assert job.payload["check_run_id"] == run.id
        assert f"check run {run.id}" in job.message
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "job", AuditEvent.object_id == str(job_id))
            .order_by(AuditEvent.id)
        ).all()
        assert actions == ["job.queued", "job.started", "job.succeeded"]


def test_another_tenant_can_neither_queue_nor_read(
    world_db: Db, cert_request: CheckRequest, cert_bytes: bytes
) -> None:
    world, sessions, settings = world_db
    product_id = _product(world)
    queue = build_queue(_immediate(settings))
    job_id = submit_check(
        sessions, queue, world.principal(Role.SUPPLIER_ADMIN), product_id, cert_request, cert_bytes
    )
    other = world.principal(Role.SUPPLIER_MEMBER)
    other = other.__class__(other.user_id, other.email, ())
    with sessions() as session, pytest.raises((NotFound, PermissionDenied)):
        job_for(session, other, job_id)
    before = _count_jobs(sessions)
    with pytest.raises((NotFound, PermissionDenied)):
        submit_check(sessions, queue, other, product_id, cert_request, cert_bytes)
    assert _count_jobs(sessions) == before


def _count_jobs(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Job.id)).all())


def test_an_egress_refusal_fails_the_job_with_the_reason_and_records_no_run(
    world_db: Db, files: BlobStore
) -> None:
    """The worker enforces the policy itself: a job queued before the policy tightened (or one
    whose name now resolves somewhere refused) fails with the reason. Submitting such a target
    is refused before anything is queued (tests/jobs/test_check_targets.py)."""
    world, sessions, _ = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = _product(world)
    request = CheckRequest(kind="tls", target="127.0.0.1:9")
    with transaction(sessions) as session:
        job_id = create_check_job(session, supplier, product_id, request).id
    state = execute_check_job(sessions, EgressPolicy(), job_id, worker=WORKER, files=files)
    assert state == "failed"
    with sessions() as session:
        job = job_for(session, supplier, job_id)
        assert job.status is RunStatus.FAILED
        assert "loopback" in (job.error or "")
        assert session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).all() == []


def test_an_internal_error_fails_the_job_without_leaking_details(
    world_db: Db, cert_request: CheckRequest, files: BlobStore
) -> None:
    world, sessions, _ = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = _product(world)
    with transaction(sessions) as session:
        job_id = create_check_job(session, supplier, product_id, cert_request).id

    def broken(_request: CheckRequest, _policy: EgressPolicy, _data: bytes | None) -> object:
        raise KeyError("secret internal detail")

    state = execute_check_job(sessions, EgressPolicy(), job_id, broken, worker=WORKER, files=files)  # type: ignore[arg-type]
    assert state == "failed"
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.error == "the check stopped with an internal error"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "tls"}, "host:port"),
        ({"kind": "cbom"}, "choose a file"),
        ({"kind": "nmap", "target": "x:1"}, "kind"),
        ({"kind": "cert", "file_sha256": "0" * 64, "shell": "rm"}, "shell"),
        ({"kind": "cert", "file_sha256": "../../etc/passwd"}, "file_sha256"),
    ],
)
def test_bad_requests_are_refused_before_any_job_exists(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CheckRequest.model_validate(fields)


def test_only_one_worker_can_claim_a_job(
    world_db: Db, cert_request: CheckRequest, files: BlobStore
) -> None:
    world, sessions, _ = world_db
    product_id = _product(world)
    with transaction(sessions) as session:
        job_id = create_check_job(
            session, world.principal(Role.SUPPLIER_MEMBER), product_id, cert_request
        ).id
    assert claim(sessions, job_id, "host:1:first") is True
    assert claim(sessions, job_id, "host:2:second") is False
    second = "host:2:second"
    assert execute_check_job(sessions, EgressPolicy(), job_id, worker=second, files=files) == (
        "skipped"
    )
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.claimed_by, job.attempts) == ("host:1:first", 1)


def test_a_products_jobs_are_found_however_busy_its_organisation_is(world_db: Db) -> None:
    """Jobs name their product in a column: another product's 250 newer jobs hide nothing."""
    from posture.storage.models import Product

    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        other = Product(
            organisation_id=s1.organisation_id,
            name="Busy Product",
            category="other",
            deployment_model="saas",
        )
        session.add(other)
        session.flush()
        session.add(
            Job(
                kind="check",
                status=RunStatus.SUCCEEDED,
                organisation_id=s1.organisation_id,
                product_id=s1.product_id,
            )
        )
        for _ in range(250):
            session.add(
                Job(
                    kind="check",
                    status=RunStatus.QUEUED,
                    organisation_id=s1.organisation_id,
                    product_id=other.id,
                )
            )
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    assert s1.product_id is not None
    with sessions() as session:
        jobs = list_product_jobs(session, supplier, s1.product_id)
        assert [j.status for j in jobs] == [RunStatus.SUCCEEDED]
        assert len(list_product_jobs(session, supplier, other.id)) == 20


def test_a_jobs_audit_events_name_its_worker_without_the_platforms_host_or_pid(
    world_db: Db, cert_request: CheckRequest, files: BlobStore
) -> None:
    world, sessions, _settings = world_db
    with transaction(sessions) as session:
        job_id = create_check_job(
            session, world.principal(Role.SUPPLIER_MEMBER), _product(world), cert_request
        ).id
    assert execute_check_job(sessions, EgressPolicy(), job_id, worker=WORKER, files=files) == (
        "succeeded"
    )
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "job", AuditEvent.object_id == str(job_id)
            )
        ).all()
    written = " ".join(f"{e.shown_actor} {e.shown_data}" for e in events)
    assert "worker-cafe" in written
    assert "testhost" not in written
    assert "4242" not in written
