"""The assessors' review queue, paged and filtered, and a decision on one queued answer.

Both are the app's services: the same scope (national assessors; their own organisation's
answers are neither offered nor decidable), the same ordering, the same one-decision-per-answer
rule. An answer the caller may not review is a 404, told apart from no answer at all by nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from partner_api.deps import Caller, Paging, Reading, Rt
from partner_api.models import In, Out, Page, ReviewItemOut
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models import Assessment
from supplier_portal.review_queue import QueueQuery
from supplier_portal.reviews import MAX_MESSAGE, review_answer, review_queue

router = APIRouter(prefix="/v1", tags=["assessors and buyers"])
AnswerId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The answer's id.")]
FilterId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


class ReviewIn(In):
    decision: Literal["accept", "query", "reject"]
    message: str = Field(
        default="",
        max_length=MAX_MESSAGE,
        # Not a schema rule: the length a message needs depends on the decision, and a short
        # one is refused with 409 like any other decision the service refuses.
        description="What the supplier should fix; 10 characters or more to query or reject.",
    )


class ReviewOut(Out):
    answer_id: int
    assessment_id: int
    outcome_id: str
    review_status: Literal["accepted", "queried", "rejected"]
    review_message: str
    reviewed_at: datetime
    assessment_status: Literal["under_review", "accepted"]


@router.get(
    "/review-queue",
    operation_id="listReviewQueue",
    summary="Submitted answers awaiting a national assessor's review, contradicted first",
    response_model=Page[ReviewItemOut],
)
def list_review_queue(
    me: Caller,
    session: Reading,
    paging: Paging,
    organisation_id: Annotated[
        FilterId, Query(description="Only this supplier's (or force's) answers.")
    ] = None,
    product_id: Annotated[FilterId, Query(description="Only this product's answers.")] = None,
    outcome_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
            description="Only answers to this framework outcome (e.g. C3.b).",
        ),
    ] = None,
    contradicted_first: Annotated[
        bool, Query(description="Answers an automated check contradicts first (the default).")
    ] = True,
) -> Page[ReviewItemOut]:
    query = QueueQuery(
        organisation_id=organisation_id,
        product_id=product_id,
        outcome_id=outcome_id,
        contradicted_first=contradicted_first,
        offset=paging.offset,
        limit=paging.limit,
    )
    found = review_queue(session, me, date.today(), query)
    return Page[ReviewItemOut](
        items=[ReviewItemOut.model_validate(item) for item in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.post(
    "/answers/{answer_id}/review",
    operation_id="reviewAnswer",
    summary="Accept, query or reject one submitted answer; an answer is decided once",
    response_model=ReviewOut,
)
def decide(me: Caller, rt: Rt, answer_id: AnswerId, body: ReviewIn) -> ReviewOut:
    with transaction(rt.sessions) as session:
        answer = review_answer(
            session, me, answer_id, body.decision, body.message, platform_keys(rt.settings)
        )
        assessment = session.get(Assessment, answer.assessment_id)
        assert assessment is not None
        decided = ReviewOut(
            answer_id=answer.id,
            assessment_id=answer.assessment_id,
            outcome_id=answer.outcome_id,
            review_status=answer.review_status,  # type: ignore[arg-type]
            review_message=answer.review_message,
            reviewed_at=answer.reviewed_at,  # type: ignore[arg-type]
            assessment_status=assessment.status.value,  # type: ignore[arg-type]
        )
    return decided
