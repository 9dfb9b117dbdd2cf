"""Automated checks: start one for a product (it runs in the worker), follow the job, read the
results as JSON, SARIF or a CycloneDX CBOM."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Response
from sqlalchemy.orm import Session

from checks.catalogue import specs
from partner_api.deps import Caller, Paging, Reading, Rt
from partner_api.models import (
    OBJECT_SCHEMA,
    ArtefactCheckUpload,
    CheckRunDetail,
    CheckRunOut,
    EndpointCheckIn,
    FindingOut,
    JobOut,
    Page,
)
from partner_api.uploads import OnePartPerField, read_upload
from posture.check_requests import CheckRequest, file_fields
from posture.identity.permissions import NotFound
from posture.jobs.checks import job_for
from posture.jobs.dispatch import submit_check
from posture.storage.models import Job
from posture.storage.paging import page
from supplier_portal.check_exports import run_files
from supplier_portal.check_results import check_runs_query, get_check_run, job_status
from supplier_portal.forms import parse_form
from supplier_portal.products import get_product

router = APIRouter(prefix="/v1", tags=["checks"])
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The product's id.")]
RunId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The check run's id.")]
JobId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The job's id.")]


def _job(session: Session, job: Job) -> JobOut:
    said = job_status(session, job)
    return JobOut(
        id=job.id,
        status=str(job.status),
        outcome=said.text,
        state=said.state,
        progress=job.progress,
        message=job.message,
        error=job.error,
        check_run_id=job.payload.get("check_run_id"),
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@router.post(
    "/products/{product_id}/checks",
    operation_id="startEndpointCheck",
    summary="Queue a check of a live endpoint (host:port); follow it at the job's URL",
    status_code=202,
    response_model=JobOut,
)
def start_endpoint_check(
    me: Caller, rt: Rt, product_id: ProductId, body: EndpointCheckIn, response: Response
) -> JobOut:
    return _queue(me, rt, product_id, body.model_dump(), response)


@router.post(
    "/products/{product_id}/checks/file",
    operation_id="startFileCheck",
    summary="Queue a check of a file (multipart/form-data: `kind` and `file`)",
    status_code=202,
    response_model=JobOut,
)
def start_file_check(
    me: Caller,
    _parts: OnePartPerField,
    rt: Rt,
    product_id: ProductId,
    body: Annotated[ArtefactCheckUpload, Form(media_type="multipart/form-data")],
    response: Response,
) -> JobOut:
    name, data = read_upload(body.file)
    fields = {"kind": body.kind, **file_fields(name, data)}
    return _queue(me, rt, product_id, fields, response, data)


def _queue(  # type: ignore[no-untyped-def]
    me, rt, product_id: int, fields: dict[str, object], response: Response, data=None
) -> JobOut:
    request = parse_form(CheckRequest, fields)
    job_id = submit_check(rt.sessions, rt.queue, me, product_id, request, data)
    with rt.sessions() as session:
        job = _job(session, job_for(session, me, job_id))
    response.headers["Location"] = f"/v1/jobs/{job_id}"
    return job


@router.get(
    "/jobs/{job_id}",
    operation_id="getJob",
    summary="A check job's status and progress; `check_run_id` once it has succeeded",
    response_model=JobOut,
)
def read_job(me: Caller, session: Reading, job_id: JobId) -> JobOut:
    return _job(session, job_for(session, me, job_id))


@router.get(
    "/check-runs",
    operation_id="listCheckRuns",
    summary="Recorded check runs the caller may see, newest first",
    response_model=Page[CheckRunOut],
)
def list_check_runs(
    me: Caller,
    session: Reading,
    paging: Paging,
    product_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Page[CheckRunOut]:
    if product_id is not None:
        # A product the caller may not see is a 404, not an empty page that hides the refusal.
        get_product(session, me, product_id, "check.read")
    rows, total = page(session, check_runs_query(me, product_id), paging.limit, paging.offset)
    return Page[CheckRunOut](
        items=[CheckRunOut.model_validate(row) for row in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/check-runs/{run_id}",
    operation_id="getCheckRun",
    summary="A check run with its findings and the full JSON report",
    response_model=CheckRunDetail,
)
def read_check_run(me: Caller, session: Reading, run_id: RunId) -> CheckRunDetail:
    run, findings = get_check_run(session, me, run_id)
    return CheckRunDetail.model_validate(
        {
            **CheckRunOut.model_validate(run).model_dump(),
            "findings": [FindingOut.model_validate(f) for f in findings],
            "report": run.result,
        }
    )


def _export(me, session, run_id: int, label: str) -> Response:  # type: ignore[no-untyped-def]
    run, _ = get_check_run(session, me, run_id)
    for item in run_files(run):
        if item.label == label:
            return Response(item.data, media_type=item.mime)
    kinds = ", ".join(spec.kind for spec in specs() if spec.cbom)
    raise NotFound(f"check run {run_id} has no {label}: it applies to {kinds} checks")


@router.get(
    "/check-runs/{run_id}/sarif",
    operation_id="getCheckRunSarif",
    summary="The run's findings as SARIF 2.1.0, for code-scanning tools",
    response_class=Response,
    responses={200: {"content": {"application/sarif+json": {"schema": OBJECT_SCHEMA}}}},
)
def read_sarif(me: Caller, session: Reading, run_id: RunId) -> Response:
    return _export(me, session, run_id, "SARIF")


@router.get(
    "/check-runs/{run_id}/cbom",
    operation_id="getCheckRunCbom",
    summary="The cryptography the run saw, as a CycloneDX 1.6 CBOM",
    response_class=Response,
    responses={200: {"content": {"application/vnd.cyclonedx+json": {"schema": OBJECT_SCHEMA}}}},
)
def read_cbom(me: Caller, session: Reading, run_id: RunId) -> Response:
    return _export(me, session, run_id, "CBOM")
