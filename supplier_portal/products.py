"""Supplier products: register, list, edit, withdraw, scoped to the acting user's organisations."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from posture.audit import record
from posture.errors import ValidationFailed
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.identity.scoped import load_visible, within_reach
from posture.storage.base import utcnow
from posture.storage.models import Organisation, Product
from posture.storage.models.enums import OrgKind
from supplier_portal.product_fields import ProductFields


def products_query(
    principal: Principal, include_withdrawn: bool = False, search: str = ""
) -> Select[tuple[Product]]:
    """The products the principal may see, oldest first; `search` matches the name."""
    query = select(Product).order_by(Product.id)
    query = within_reach(query, Product.organisation_id, principal, "product.read")
    if not include_withdrawn:
        query = query.where(Product.deleted_at.is_(None))
    if search.strip():
        query = query.where(Product.name.icontains(search.strip(), autoescape=True))
    return query


def list_products(
    session: Session, principal: Principal, include_withdrawn: bool = False
) -> list[Product]:
    return list(session.scalars(products_query(principal, include_withdrawn)))


def get_product(
    session: Session, principal: Principal, product_id: int, permission: str = "product.read"
) -> Product:
    return load_visible(session, Product, product_id, principal, permission, "product")


def create_product(
    session: Session, principal: Principal, organisation_id: int, form: ProductFields
) -> Product:
    require(principal, "product.write", organisation_id, "organisation")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    if organisation.kind != OrgKind.SUPPLIER:
        raise ValidationFailed("only supplier organisations register products")
    duplicate = session.scalar(
        select(Product.id).where(
            Product.organisation_id == organisation_id,
            Product.name == form.name,
            Product.deleted_at.is_(None),
        )
    )
    if duplicate is not None:
        raise ValidationFailed(f"you already have a product called {form.name!r}")
    product = Product(
        organisation_id=organisation_id,
        name=form.name,
        category=form.category.value,
        deployment_model=form.deployment_model.value,
        description=form.description,
        **form.listing_fields(),
    )
    session.add(product)
    session.flush()
    record(
        session,
        actor_of(principal),
        "product.created",
        "product",
        product.id,
        form.model_dump(mode="json"),
        organisation_id=organisation_id,
    )
    return product


def update_product(
    session: Session, principal: Principal, product_id: int, form: ProductFields
) -> Product:
    product = get_product(session, principal, product_id, "product.write")
    before = {
        "name": product.name,
        "category": product.category,
        "deployment_model": product.deployment_model,
    }
    product.name, product.category = form.name, form.category.value
    product.deployment_model, product.description = form.deployment_model.value, form.description
    for field, value in form.listing_fields().items():
        setattr(product, field, value)
    record(
        session,
        actor_of(principal),
        "product.updated",
        "product",
        product.id,
        {"before": before, "after": form.model_dump(mode="json")},
        organisation_id=product.organisation_id,
    )
    return product


def withdraw_product(session: Session, principal: Principal, product_id: int) -> Product:
    product = get_product(session, principal, product_id, "product.write")
    if product.deleted_at is None:
        product.deleted_at = utcnow()
        record(
            session,
            actor_of(principal),
            "product.withdrawn",
            "product",
            product.id,
            organisation_id=product.organisation_id,
        )
    return product
