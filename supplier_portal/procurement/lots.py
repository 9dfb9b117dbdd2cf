"""Procurement frameworks and lots: suppliers apply products, eligibility is evaluated gate by
gate, officers move entries through the lifecycle, and listed products that slip are flagged."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    allowed,
    require,
    visible_organisations,
)
from posture.storage.models import (
    Lot,
    LotApplication,
    Organisation,
    ProcurementFramework,
    Product,
)
from supplier_portal.procurement.facts import product_facts
from supplier_portal.procurement.gates import GateResult, Gates, as_records, evaluate
from supplier_portal.procurement.lifecycle import ListingState, listing_lifecycle
from supplier_portal.products import get_product


def create_framework(
    session: Session, principal: Principal, organisation_id: int, title: str, description: str = ""
) -> ProcurementFramework:
    require(principal, "procurement.manage", organisation_id, "organisation")
    if not 3 <= len(title.strip()) <= 200:
        raise ValidationFailed("title: 3 to 200 characters")
    framework = ProcurementFramework(
        organisation_id=organisation_id,
        title=title.strip(),
        description=description,
        created_by_user_id=principal.user_id,
    )
    session.add(framework)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed(f"a framework called {title!r} already exists") from None
    record(
        session,
        actor_of(principal),
        "procurement.framework_created",
        "framework",
        framework.id,
        {"title": framework.title},
        organisation_id=organisation_id,
    )
    return framework


def add_lot(
    session: Session, principal: Principal, framework_id: int, key: str, title: str, gates: Gates
) -> Lot:
    visible_organisations(principal, "procurement.manage")
    framework = session.get(ProcurementFramework, framework_id)
    if framework is None:
        raise NotFound("framework not found")
    lot = Lot(framework_id=framework_id, key=key, title=title, gates=gates.stored())
    session.add(lot)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed(f"the framework already has a lot {key!r}") from None
    record(
        session,
        actor_of(principal),
        "procurement.lot_created",
        "lot",
        lot.id,
        {"framework_id": framework_id, "key": key, "gates": lot.gates},
        organisation_id=framework.organisation_id,
    )
    return lot


def _evaluate(session: Session, lot: Lot, product: Product, today: date) -> list[GateResult]:
    return evaluate(Gates.model_validate(lot.gates), product_facts(session, product, today), today)


def _subject(session: Session, application: LotApplication) -> tuple[Lot, Product]:
    lot = session.get(Lot, application.lot_id)
    product = session.get(Product, application.product_id)
    if lot is None or product is None:  # foreign keys make this impossible
        raise NotFound("lot or product not found")
    return lot, product


def apply_product(
    session: Session, principal: Principal, lot_id: int, product_id: int, today: date | None = None
) -> LotApplication:
    """Eligibility is evaluated now and kept with the reason for each gate."""
    product = get_product(session, principal, product_id, "procurement.apply")
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound("lot not found")
    results = _evaluate(session, lot, product, today or utcnow().date())
    application = LotApplication(
        lot_id=lot_id,
        product_id=product.id,
        organisation_id=product.organisation_id,
        status=ListingState.APPLIED.value,
        eligible=all(r.passed for r in results),
        eligibility=as_records(results),
    )
    session.add(application)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed("this product has already applied to that lot") from None
    record(
        session,
        actor_of(principal),
        "procurement.applied",
        "lot_application",
        application.id,
        {
            "lot_id": lot_id,
            "product_id": product.id,
            "eligible": application.eligible,
            "failed_gates": [r.gate for r in results if not r.passed],
        },
        organisation_id=product.organisation_id,
    )
    return application


def transition(
    session: Session,
    principal: Principal,
    application_id: int,
    to_status: str,
    note: str = "",
    today: date | None = None,
) -> LotApplication:
    application = session.get(LotApplication, application_id)
    if application is None:
        visible_organisations(principal, "listing.view")
        raise NotFound("application not found")
    if listing_lifecycle().mover(application.status, to_status) == "officer":
        if not allowed(principal, "procurement.manage", application.organisation_id):
            raise PermissionDenied("only procurement officers decide listings")
    else:
        require(principal, "procurement.apply", application.organisation_id, "application")
    if to_status == ListingState.LISTED:
        results = _evaluate(session, *_subject(session, application), today or utcnow().date())
        application.eligibility = as_records(results)
        application.eligible = all(r.passed for r in results)
        if not application.eligible:
            failed = ", ".join(r.gate for r in results if not r.passed)
            raise ValidationFailed(f"not eligible to list: {failed}")
        application.flagged = None
    before = application.status
    application.status, application.note = ListingState(to_status).value, note
    application.decided_at, application.decided_by_user_id = utcnow(), principal.user_id
    record(
        session,
        actor_of(principal),
        "procurement.status_changed",
        "lot_application",
        application.id,
        {"from": before, "to": to_status, "note": note},
        organisation_id=application.organisation_id,
    )
    return application


def recheck_listings(session: Session, actor: Actor, today: date) -> list[LotApplication]:
    """Flag listed products whose posture or checks have slipped below a gate (and unflag those
    that recovered). Returns the applications newly flagged.

    Every listing is judged first and only then are the changes written and audited: the first
    audit record takes the trail's lock, which must not be held while the whole list is read."""
    listed = session.scalars(
        select(LotApplication).where(LotApplication.status == ListingState.LISTED.value)
    ).all()
    judged = [(application, _failing(session, application, today)) for application in listed]
    newly_flagged = []
    for application, failing in judged:
        # Flagged anew, or still failing for other reasons now (its evidence aged, say).
        if failing and application.flagged != as_records(failing):
            if not application.flagged:
                newly_flagged.append(application)
            application.flagged = as_records(failing)
            record(
                session,
                actor,
                "procurement.listing_flagged",
                "lot_application",
                application.id,
                {"failed_gates": [r.gate for r in failing]},
                organisation_id=application.organisation_id,
            )
        elif not failing and application.flagged:
            application.flagged = None
            record(
                session,
                actor,
                "procurement.listing_flag_cleared",
                "lot_application",
                application.id,
                organisation_id=application.organisation_id,
            )
    return newly_flagged


def _failing(session: Session, application: LotApplication, today: date) -> list[GateResult]:
    return [r for r in _evaluate(session, *_subject(session, application), today) if not r.passed]


def listings(
    session: Session, principal: Principal, lot_ids: list[int] | None = None
) -> list[LotApplication]:
    visible_organisations(principal, "listing.view")
    query = select(LotApplication).where(LotApplication.status == ListingState.LISTED.value)
    if lot_ids:
        query = query.where(LotApplication.lot_id.in_(lot_ids))
    return list(session.scalars(query.order_by(LotApplication.id)))


def visible_applications(session: Session, principal: Principal) -> list[LotApplication]:
    """Officers see every application; a supplier admin sees its own organisation's; others,
    who may only see listings, see no applications (gate failures are commercially sensitive)."""
    query = select(LotApplication).order_by(LotApplication.id)
    for permission in ("procurement.manage", "procurement.apply"):
        try:
            scope = visible_organisations(principal, permission)
        except PermissionDenied:
            continue
        if scope is not None:
            query = query.where(LotApplication.organisation_id.in_(scope))
        return list(session.scalars(query))
    return []


def list_frameworks(session: Session, principal: Principal) -> list[ProcurementFramework]:
    visible_organisations(principal, "listing.view")
    return list(session.scalars(select(ProcurementFramework).order_by(ProcurementFramework.id)))


def list_lots(session: Session, principal: Principal) -> list[Lot]:
    """Frameworks and lots are public to every role that may see listings."""
    visible_organisations(principal, "listing.view")
    return list(session.scalars(select(Lot).order_by(Lot.id)))


def published_listings(
    session: Session, lot_id: int | None, limit: int, offset: int
) -> tuple[list[dict[str, object]], int]:
    """Listed products as the public sees them: which product, by whom, on which lot. Gate
    results and notes stay private to the supplier and the officers."""
    query = (
        select(
            LotApplication.id.label("application_id"),
            Lot.id.label("lot_id"),
            Lot.title.label("lot"),
            ProcurementFramework.title.label("framework"),
            Product.id.label("product_id"),
            Product.name.label("product"),
            Organisation.name.label("supplier"),
            LotApplication.decided_at.label("listed_since"),
        )
        .join(Lot, Lot.id == LotApplication.lot_id)
        .join(ProcurementFramework, ProcurementFramework.id == Lot.framework_id)
        .join(Product, Product.id == LotApplication.product_id)
        .join(Organisation, Organisation.id == LotApplication.organisation_id)
        .where(LotApplication.status == ListingState.LISTED.value, Product.deleted_at.is_(None))
        .order_by(LotApplication.id)
    )
    if lot_id is not None:
        query = query.where(LotApplication.lot_id == lot_id)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows], int(total or 0)
