"""Assessments: read them with their answers, add evidence to a draft, submit for review."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Response

from kernel.errors import ValidationFailed
from partner_api.deps import Caller, Paging, Reading, Rt
from partner_api.models import (
    OBJECT_SCHEMA,
    AnswerOut,
    AssessmentDetail,
    AssessmentOut,
    EvidenceOut,
    EvidenceUpload,
    Page,
)
from partner_api.uploads import OnePartPerField, read_upload
from posture.storage.engine import transaction
from posture.storage.paging import page
from supplier_portal.assessments import (
    assessments_query,
    get_assessment,
    inferred_label,
    list_answers,
    submit_assessment,
    sync_draft_target,
)
from supplier_portal.evidence import add_evidence
from supplier_portal.products import get_product

router = APIRouter(prefix="/v1", tags=["assessments"])
AssessmentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The assessment's id.")]
Status = Literal["draft", "submitted", "under_review", "accepted", "superseded"]


@router.get(
    "/assessments",
    operation_id="listAssessments",
    summary="Assessments the caller may read, oldest first",
    response_model=Page[AssessmentOut],
)
def list_assessments(
    me: Caller,
    session: Reading,
    paging: Paging,
    product_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
) -> Page[AssessmentOut]:
    if product_id is not None:
        # A product the caller may not see is a 404, not an empty page that hides the refusal.
        get_product(session, me, product_id, "assessment.read")
    rows, total = page(
        session, assessments_query(me, product_id, status), paging.limit, paging.offset
    )
    return Page[AssessmentOut](
        items=[AssessmentOut.model_validate(row) for row in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/assessments/{assessment_id}",
    operation_id="getAssessment",
    summary="One assessment with its answers",
    response_model=AssessmentDetail,
)
def read_assessment(me: Caller, session: Reading, assessment_id: AssessmentId) -> AssessmentDetail:
    assessment = get_assessment(session, me, assessment_id)
    answers = [
        AnswerOut.model_validate(answer).model_copy(update={"inferred": inferred_label(answer)})
        for answer in list_answers(session, me, assessment_id)
    ]
    return AssessmentDetail.model_validate(
        {**AssessmentOut.model_validate(assessment).model_dump(), "answers": answers}
    )


@router.post(
    "/assessments/{assessment_id}/submit",
    operation_id="submitAssessment",
    summary="Submit a draft assessment for review",
    response_model=AssessmentOut,
)
def submit(me: Caller, rt: Rt, assessment_id: AssessmentId) -> AssessmentOut:
    # A draft its facts have moved past is moved first, in its own transaction, so the move is
    # kept when the submission below is refused for it (the new outcomes are still to answer).
    with transaction(rt.sessions) as session:
        moved = sync_draft_target(session, me, assessment_id)
    if moved is not None and moved.up:
        raise ValidationFailed(
            f"profile_id: the draft was moved from {moved.before} to {moved.after} because "
            f"{moved.because}; answer the outcomes now in scope, then submit again"
        )
    with transaction(rt.sessions) as session:
        return AssessmentOut.model_validate(submit_assessment(session, me, assessment_id))


@router.post(
    "/assessments/{assessment_id}/evidence",
    operation_id="addEvidence",
    summary="Upload a document (multipart/form-data, part `file`, and `expires_on` when it "
    "stops holding) as evidence to a draft",
    status_code=201,
    response_model=EvidenceOut,
)
def upload_evidence(
    me: Caller,
    _parts: OnePartPerField,
    rt: Rt,
    assessment_id: AssessmentId,
    body: Annotated[EvidenceUpload, Form(media_type="multipart/form-data")],
    response: Response,
) -> EvidenceOut:
    name, data = read_upload(body.file)
    with transaction(rt.sessions) as session:
        evidence = add_evidence(
            session, me, rt.settings, assessment_id, name, data, body.expires_on
        )
        created = EvidenceOut.model_validate(evidence)
    response.headers["Location"] = f"/v1/assessments/{assessment_id}"
    return created


@router.get(
    "/assessments/{assessment_id}/oscal-results",
    operation_id="getAssessmentOscalResults",
    summary="An accepted assessment as OSCAL 1.2.3 assessment results, with outcome URNs",
    response_class=Response,
    responses={200: {"content": {"application/json": {"schema": OBJECT_SCHEMA}}}},
)
def read_oscal_results(me: Caller, session: Reading, assessment_id: AssessmentId) -> Response:
    # trestle loads only for this export, not with the rest of the API.
    from posture.assessment_export import export_assessment_results

    document = export_assessment_results(session, me, assessment_id)
    return Response(
        json.dumps(document, ensure_ascii=False).encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="assessment-{assessment_id}.oscal.json"'
        },
    )
