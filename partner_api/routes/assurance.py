"""What buyers get: saved shortlists. The review queue is in partner_api.routes.reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from partner_api.deps import Caller, Reading
from partner_api.models import ShortlistRowOut
from supplier_portal.procurement.shortlists import export_frame

router = APIRouter(prefix="/v1", tags=["assessors and buyers"])
VersionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The shortlist version.")]


@router.get(
    "/shortlists/{version_id}",
    operation_id="getShortlist",
    summary="A saved shortlist version, ranked, with the reason for each position",
    response_model=list[ShortlistRowOut],
)
def read_shortlist(me: Caller, session: Reading, version_id: VersionId) -> list[ShortlistRowOut]:
    frame = export_frame(session, me, version_id)
    return [ShortlistRowOut.model_validate(row) for row in frame.to_dict("records")]
