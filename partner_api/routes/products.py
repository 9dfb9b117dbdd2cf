"""A supplier's organisation and products; assessors and buyers see what their roles grant."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from frameworks.catalogue_view import catalogue_id_of
from partner_api.deps import Caller, Paging, Reading, Rt
from partner_api.etags import ETAG_RESPONSES, IfNoneMatch, conditional
from partner_api.models import (
    OrganisationOut,
    Page,
    ProductIn,
    ProductOut,
    ProfileRaiseIn,
    ScoreOut,
    TargetProfileOut,
)
from posture.assessment_frameworks import framework_named
from posture.identity.permissions import visible_organisations
from posture.scoring.service import product_score
from posture.storage.engine import transaction
from posture.storage.models import Organisation
from posture.storage.paging import page
from posture.target_profiles import TargetProfile, product_target
from supplier_portal.assessments import supplier_target
from supplier_portal.organisations import get_profile
from supplier_portal.product_fields import ProductChanges
from supplier_portal.products import (
    amend_product,
    create_product,
    get_product,
    products_query,
    withdraw_product,
)
from supplier_portal.profile_raises import raise_profile

router = APIRouter(prefix="/v1", tags=["organisations and products"])
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The product's id.")]


@router.get(
    "/organisations/mine",
    operation_id="listMyOrganisations",
    summary="The organisations the token's user belongs to",
    response_model=list[OrganisationOut],
)
def my_organisations(me: Caller, session: Reading) -> list[OrganisationOut]:
    visible_organisations(me, "organisation.read")
    return [
        OrganisationOut.model_validate(get_profile(session, me, organisation_id))
        for organisation_id in sorted(me.organisation_ids())
        if session.get(Organisation, organisation_id) is not None
    ]


@router.get(
    "/products",
    operation_id="listProducts",
    summary="Products the caller may see: a supplier its own, assessors and buyers all",
    response_model=Page[ProductOut],
)
def list_products(
    me: Caller,
    session: Reading,
    paging: Paging,
    search: Annotated[str, Query(max_length=100, description="Name contains.")] = "",
) -> Page[ProductOut]:
    rows, total = page(session, products_query(me, search=search), paging.limit, paging.offset)
    return Page[ProductOut](
        items=[ProductOut.model_validate(row) for row in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post(
    "/products",
    operation_id="createProduct",
    summary="Register a product for one of the caller's supplier organisations",
    status_code=201,
    response_model=ProductOut,
)
def register_product(me: Caller, rt: Rt, body: ProductIn, response: Response) -> ProductOut:
    with transaction(rt.sessions) as session:
        product = create_product(session, me, body.organisation_id, body.product_fields())
        created = ProductOut.model_validate(product)
    response.headers["Location"] = f"/v1/products/{created.id}"
    return created


@router.get(
    "/products/{product_id}",
    operation_id="getProduct",
    summary="One product",
    response_model=ProductOut,
    responses=ETAG_RESPONSES,
)
def read_product(
    me: Caller, session: Reading, product_id: ProductId, if_none_match: IfNoneMatch = None
) -> Response:
    return conditional(
        if_none_match, ProductOut.model_validate(get_product(session, me, product_id))
    )


@router.patch(
    "/products/{product_id}",
    operation_id="updateProduct",
    summary="Change some of a product's fields; the fields left out keep their values",
    response_model=ProductOut,
)
def change_product(me: Caller, rt: Rt, product_id: ProductId, body: ProductChanges) -> ProductOut:
    with transaction(rt.sessions) as session:
        changed = ProductOut.model_validate(amend_product(session, me, product_id, body))
    return changed


@router.post(
    "/products/{product_id}/withdraw",
    operation_id="withdrawProduct",
    summary="Withdraw a product: it leaves product lists and published listings, its history stays",
    response_model=ProductOut,
)
def withdraw(me: Caller, rt: Rt, product_id: ProductId) -> ProductOut:
    with transaction(rt.sessions) as session:
        withdrawn = ProductOut.model_validate(withdraw_product(session, me, product_id))
    return withdrawn


def _target_out(product_id: int, framework: str, target: TargetProfile) -> TargetProfileOut:
    return TargetProfileOut(
        product_id=product_id,
        framework=framework,
        profile_id=target.profile_id,
        derived_profile_id=target.derivation.profile_id,
        because=target.explain(),
        raised_reason=target.raise_reason,
    )


FrameworkChoice = Annotated[
    str | None,
    Query(max_length=100, description="Catalogue id, e.g. ptsbd-1.0; the default when left out."),
]


@router.get(
    "/products/{product_id}/target-profile",
    operation_id="getProductTargetProfile",
    summary="The profile the product must be assessed against, derived from its facts, and why",
    response_model=TargetProfileOut,
)
def read_target_profile(
    me: Caller, session: Reading, product_id: ProductId, framework: FrameworkChoice = None
) -> TargetProfileOut:
    product = get_product(session, me, product_id)
    target = supplier_target(session, me, product.organisation_id, product_id, framework)
    return _target_out(product_id, catalogue_id_of(framework_named(framework).framework), target)


@router.post(
    "/products/{product_id}/target-profile/raise",
    operation_id="raiseProductTargetProfile",
    summary="Raise the product's target profile above what its facts derive, with a reason "
    "(assessors only; never lower); its live assessments are re-targeted",
    response_model=TargetProfileOut,
)
def raise_target_profile(
    me: Caller, rt: Rt, product_id: ProductId, body: ProfileRaiseIn
) -> TargetProfileOut:
    with transaction(rt.sessions) as session:
        raise_profile(session, me, product_id, body)
        loaded = framework_named(body.framework)
        product = get_product(session, me, product_id)
        target = product_target(session, loaded, product)
        raised = _target_out(product_id, catalogue_id_of(loaded.framework), target)
    return raised


@router.get(
    "/products/{product_id}/score",
    operation_id="getProductScore",
    summary="The product's posture score today, with band, confidence, gaps and contradictions",
    response_model=ScoreOut,
)
def read_score(me: Caller, session: Reading, product_id: ProductId) -> ScoreOut:
    today = date.today()
    explained = product_score(session, me, product_id, today)
    if explained is None:
        reason = "no submitted assessment yet"
        return ScoreOut(product_id=product_id, as_of=today, status="unscored", reason=reason)
    return ScoreOut(
        product_id=product_id,
        status="scored",
        as_of=explained["as_of"],
        score=explained["score"],
        confidence=explained["confidence"],
        band=explained["band"],
        capped=bool(explained["band_capped_by_critical"]),
        gaps=len(explained["gaps"]),
        contradicted=len(explained["contradicted"]),
    )
