"""Public: the framework catalogue and the published listings. No token needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import RootModel

from frameworks.loader import LoadedFramework, default_framework
from frameworks.urns import UrnKind, element_urn, framework_urn, outcome_urn, version_key
from kernel.errors import ValidationFailed
from partner_api.deps import Paging, Reading
from partner_api.etags import ETAG_RESPONSES, IfNoneMatch, conditional
from partner_api.models import (
    FrameworkOut,
    ListingOut,
    ObjectiveOut,
    OutcomeOut,
    Page,
    PrincipleOut,
    ProfileOut,
)
from posture.assessment_frameworks import assessable_frameworks, framework_named
from posture.identity.permissions import NotFound
from supplier_portal.procurement.lots import published_listings

router = APIRouter(prefix="/v1", tags=["public"])
FrameworkList = RootModel[list[FrameworkOut]]
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
    return conditional(if_none_match, framework_out(default_framework()))


@router.get(
    "/frameworks",
    operation_id="listFrameworks",
    summary="Every framework a subject can be assessed against, with its URNs",
    response_model=list[FrameworkOut],
    responses=ETAG_RESPONSES,
    openapi_extra={"security": []},
)
def list_frameworks(if_none_match: IfNoneMatch = None) -> Response:
    listed = [framework_out(loaded) for loaded in assessable_frameworks()]
    return conditional(if_none_match, FrameworkList(listed))


@router.get(
    "/frameworks/{catalogue_id}",
    operation_id="getFrameworkVersion",
    summary="One framework version by catalogue id (ncsc-caf-4.0), or a framework's newest",
    response_model=FrameworkOut,
    responses=ETAG_RESPONSES,
    openapi_extra={"security": []},
)
def get_framework_version(
    catalogue_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    try:
        loaded = framework_named(catalogue_id)
    except ValidationFailed:
        raise NotFound(f"no framework {catalogue_id}") from None
    return conditional(if_none_match, framework_out(loaded))


def framework_out(loaded: LoadedFramework) -> FrameworkOut:
    """The framework with the URN of every element beside its label."""
    framework = loaded.framework
    key = (framework.framework_id, framework.version)
    return FrameworkOut(
        framework_id=framework.framework_id,
        version=framework.version,
        catalogue_id=version_key(*key),
        urn=framework_urn(*key),
        title=framework.title,
        publisher=framework.publisher,
        released=framework.released,
        objectives=[
            ObjectiveOut(
                id=objective.id,
                urn=element_urn(UrnKind.OBJECTIVE, *key, objective.id),
                title=objective.title,
                principles=[
                    PrincipleOut(
                        id=principle.id,
                        urn=element_urn(UrnKind.PRINCIPLE, *key, principle.id),
                        title=principle.title,
                        outcomes=[
                            OutcomeOut(
                                id=outcome.id,
                                urn=outcome_urn(*key, outcome.id),
                                title=outcome.title,
                                critical=outcome.critical,
                                weight=outcome.weight,
                            )
                            for outcome in principle.outcomes
                        ],
                    )
                    for principle in objective.principles
                ],
            )
            for objective in framework.objectives
        ],
        profiles=[
            ProfileOut(
                id=profile.id,
                urn=element_urn(UrnKind.PROFILE, *key, profile.id),
                title=profile.title,
                subject=profile.subject.value,
            )
            for profile in loaded.profiles.values()
        ],
    )


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
