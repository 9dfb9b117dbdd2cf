"""A check shows one status in words, whichever of its job and its run is asked: a check that
could not assess its target is "Failed", not "succeeded" beside a failed run (issue 25)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from checks.findings import Severity
from kernel.settings import Settings
from posture.blobs import BlobStore
from posture.check_requests import CheckRequest, file_fields
from posture.jobs.checks import create_check_job, execute_check_job, job_for
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.engine import transaction
from posture.storage.models import CheckRun
from posture.storage.models.enums import Role, RunStatus
from supplier_portal.check_results import (
    CheckState,
    RunOutcome,
    check_status,
    job_status,
    product_check_jobs,
    run_outcomes,
    run_status,
)
from tests.identity.world import World
from tests.partner_api.conftest import api, api_template, bearer  # noqa: F401 (fixtures)
from tests.partner_api.world import ApiWorld

Db = tuple[World, sessionmaker[Session], Settings]
NOT_A_CERTIFICATE = b"this is not a certificate"
S = Severity


def _completed(score: float | None, *severities: Severity) -> RunOutcome:
    return RunOutcome(RunStatus.SUCCEEDED, score, severities)


@pytest.mark.parametrize(
    ("outcome", "state", "text"),
    [
        (_completed(92.5), CheckState.PASSED, "Passed: score 92.5"),
        (_completed(80, S.LOW, S.INFO), CheckState.PASSED, "Passed: score 80, 2 minor findings"),
        (_completed(None), CheckState.PASSED, "Passed"),
        (
            _completed(64.3, S.MEDIUM, S.HIGH, S.LOW),
            CheckState.FAILED,
            "Failed: 2 findings at medium or above (score 64.3)",
        ),
        (_completed(None, S.CRITICAL), CheckState.FAILED, "Failed: 1 finding at medium or above"),
        (
            RunOutcome(RunStatus.FAILED, None, (S.HIGH,)),
            CheckState.FAILED,
            "Failed: could not be assessed (1 finding)",
        ),
    ],
)
def test_a_recorded_run_reads_as_what_it_found(
    outcome: RunOutcome, state: CheckState, text: str
) -> None:
    said = run_status(outcome)
    assert (said.state, said.text) == (state, text)
    # A finished job says exactly what its run says.
    assert check_status(RunStatus.SUCCEEDED, "check run 7: score n/a", None, outcome) == said


@pytest.mark.parametrize(
    ("job", "state", "text"),
    [
        ((RunStatus.QUEUED, "", None), CheckState.QUEUED, "Queued"),
        (
            (RunStatus.RUNNING, "running the tls check", None),
            CheckState.RUNNING,
            "Running: running the tls check",
        ),
        (
            (RunStatus.FAILED, "refused", "vault.example:443: cannot resolve"),
            CheckState.COULD_NOT_RUN,
            "Could not run: vault.example:443: cannot resolve",
        ),
        (
            (RunStatus.FAILED, "", None),
            CheckState.COULD_NOT_RUN,
            "Could not run: no reason was recorded",
        ),
        ((RunStatus.CANCELLED, "", None), CheckState.CANCELLED, "Cancelled"),
        # Succeeded with no run on record cannot be called a pass.
        (
            (RunStatus.SUCCEEDED, "check run 9", None),
            CheckState.COULD_NOT_RUN,
            "Could not run: its result is not on record",
        ),
    ],
)
def test_a_job_without_a_result_says_where_it_is(
    job: tuple[RunStatus, str, str | None], state: CheckState, text: str
) -> None:
    said = check_status(*job, None)
    assert (said.state, said.text) == (state, text)
    assert said.active is (state in (CheckState.QUEUED, CheckState.RUNNING))


def test_a_check_that_could_not_assess_its_file_fails_on_the_job_and_the_run(
    world_db: Db,
) -> None:
    world, sessions, settings = world_db
    member = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    # The real certificate check, in its sandbox, on a file that is no certificate.
    request = CheckRequest(kind="cert", **file_fields("leaf.pem", NOT_A_CERTIFICATE))
    job_id = submit_check(sessions, queue, member, product_id, request, NOT_A_CERTIFICATE)
    with sessions() as session:
        job = job_for(session, member, job_id)
        assert job.status is RunStatus.SUCCEEDED  # the worker ran it to the end
        run = session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).one()
        assert run.status is RunStatus.FAILED
        views = {view.id: view for view in product_check_jobs(session, member, product_id)}
        on_run = run_status(run_outcomes(session, [run])[run.id])
        by_job = job_status(session, job)
    expected = "Failed: could not be assessed (1 finding)"
    assert views[job_id].status.text == on_run.text == by_job.text == expected
    assert views[job_id].check_run_id == run.id
    assert views[job_id].kind == "cert"


def test_a_job_the_worker_refused_could_not_run_and_says_why(
    world_db: Db, files: BlobStore
) -> None:
    world, sessions, _ = world_db
    member = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    with transaction(sessions) as session:
        job_id = create_check_job(
            session, member, product_id, CheckRequest(kind="tls", target="127.0.0.1:9")
        ).id
    execute_check_job(sessions, EgressPolicy(), job_id, worker="testhost:1:cafe", files=files)
    with sessions() as session:
        view = next(v for v in product_check_jobs(session, member, product_id) if v.id == job_id)
    assert view.status.state is CheckState.COULD_NOT_RUN
    assert view.status.text.startswith("Could not run: ")
    assert "loopback" in view.status.text


def test_the_api_reports_the_same_status_as_the_page(
    api: tuple[TestClient, ApiWorld],  # noqa: F811 (the fixture imported above)
) -> None:
    client, prepared = api
    product_id = prepared.world.orgs["s1"].product_id
    queued = client.post(
        f"/v1/products/{product_id}/checks/file",
        data={"kind": "cert"},
        files={"file": ("leaf.pem", NOT_A_CERTIFICATE, "application/x-pem-file")},
        headers=bearer(prepared, "s1"),
    )
    assert queued.status_code == 202, queued.text
    assert (queued.json()["outcome"], queued.json()["state"]) == ("Queued", "queued")
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    job_id = queued.json()["id"]
    state = execute_check_job(
        runtime.sessions,
        EgressPolicy(),
        job_id,
        worker="testhost:1:cafe",
        files=runtime.queue.files,
    )
    assert state == "succeeded"
    job = client.get(f"/v1/jobs/{job_id}", headers=bearer(prepared, "s1")).json()
    assert (job["status"], job["outcome"], job["state"]) == (
        "succeeded",
        "Failed: could not be assessed (1 finding)",
        "failed",
    )
