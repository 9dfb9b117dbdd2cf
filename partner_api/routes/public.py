"""Public: the framework catalogue and the published listings. No token needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from frameworks.loader import default_framework
from partner_api.deps import Paging, Reading
from partner_api.etags import ETAG_RESPONSES, IfNoneMatch, conditional
from partner_api.models import FrameworkOut, ListingOut, Page
from supplier_portal.procurement.lots import published_listings

router = APIRouter(prefix="/v1", tags=["public"])
LotId = Annotated[int | None, Query(ge=1, le=2_147_483_647, description="One lot only.")]


@router.get(
    "/framework",
    operation_id="getFramework",
    summary="The secure-by-design framework: objectives, principles and outcomes",
    response_model=FrameworkOut,
    responses=ETAG_RESPONSES,
    openapi_extra={"security": []},
)
def get_framework(if_none_match: IfNoneMatch = None) -> Response:
    framework = default_framework().framework
    return conditional(if_none_match, FrameworkOut.model_validate(framework))


@router.get(
    "/listings",
    operation_id="listListings",
    summary="Products listed on procurement framework lots",
    response_model=Page[ListingOut],
    openapi_extra={"security": []},
)
def list_listings(
    session: Reading,
    paging: Paging,
    lot_id: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="Only this lot.")
    ] = None,
) -> Page[ListingOut]:
    rows, total = published_listings(session, lot_id, paging.limit, paging.offset)
    return Page[ListingOut](
        items=[ListingOut.model_validate(row) for row in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
