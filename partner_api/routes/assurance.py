"""What assessors and buyers get: the review queue and saved shortlists."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path

from partner_api.deps import Caller, Paging, Reading
from partner_api.models import Page, ReviewItemOut, ShortlistRowOut
from supplier_portal.procurement.shortlists import export_frame
from supplier_portal.reviews import review_queue

router = APIRouter(prefix="/v1", tags=["assessors and buyers"])
VersionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The shortlist version.")]


@router.get(
    "/review-queue",
    operation_id="listReviewQueue",
    summary="Submitted answers awaiting a national assessor's review, contradicted first",
    response_model=Page[ReviewItemOut],
)
def list_review_queue(me: Caller, session: Reading, paging: Paging) -> Page[ReviewItemOut]:
    items = review_queue(session, me, date.today())
    window = items[paging.offset : paging.offset + paging.limit]
    return Page[ReviewItemOut](
        items=[ReviewItemOut.model_validate(item) for item in window],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/shortlists/{version_id}",
    operation_id="getShortlist",
    summary="A saved shortlist version, ranked, with the reason for each position",
    response_model=list[ShortlistRowOut],
)
def read_shortlist(me: Caller, session: Reading, version_id: VersionId) -> list[ShortlistRowOut]:
    frame = export_frame(session, me, version_id)
    return [ShortlistRowOut.model_validate(row) for row in frame.to_dict("records")]
