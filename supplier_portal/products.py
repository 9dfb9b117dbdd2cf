"""Supplier products: register, list, edit, withdraw, scoped to the acting user's organisations."""

from __future__ import annotations

from pydantic_core import to_jsonable_python
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from frameworks.deployment_facts import FACT_FIELDS
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.identity.scoped import load_visible, within_reach
from posture.storage.locks import hold_exclusive
from posture.storage.models import Organisation, Product
from posture.storage.models.enums import OrgKind
from posture.target_profiles import apply_target, product_profile_lock
from supplier_portal.forms import parse_form
from supplier_portal.product_fields import ProductChanges, ProductFields


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
    _refuse_duplicate_name(session, organisation_id, form.name)
    _refuse_conflicting_facts(form)
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
    actor = actor_of(principal)
    record(
        session,
        actor,
        "product.created",
        "product",
        product.id,
        form.model_dump(mode="json"),
        organisation_id=organisation_id,
    )
    # The supplier as a whole meets its most demanding product's profile.
    apply_target(session, actor, product)
    return product


def _refuse_duplicate_name(
    session: Session, organisation_id: int, name: str, product_id: int | None = None
) -> None:
    query = select(Product.id).where(
        Product.organisation_id == organisation_id,
        Product.name == name,
        Product.deleted_at.is_(None),
    )
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if session.scalar(query) is not None:
        raise ValidationFailed(f"you already have a product called {name!r}")


def _refuse_conflicting_facts(form: ProductFields) -> None:
    try:
        form.caveat_problem()
        form.version_problem()
        form.dates_problem()
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


def stored_fields(product: Product) -> dict[str, object]:
    """The stored product as its field set reads it: an edit form's starting values, and what a
    partial update leaves alone. The columns carry the fields' names."""
    return {field: getattr(product, field) for field in ProductFields.model_fields}


def _editable(session: Session, principal: Principal, product_id: int) -> Product:
    """The product, locked against other changes to its target and read again under the lock,
    so a change is made to what is stored, not to what was read before another change landed."""
    product = get_product(session, principal, product_id, "product.write")
    hold_append_lock(session)
    hold_exclusive(session, product_profile_lock(product.id))
    session.refresh(product)
    if product.deleted_at is not None:
        raise ValidationFailed(f"{product.name!r} has been withdrawn and can no longer be edited")
    return product


def update_product(
    session: Session, principal: Principal, product_id: int, form: ProductFields
) -> Product:
    """Replace every field of the product with the form's (the portal's edit form)."""
    return _apply(session, principal, _editable(session, principal, product_id), form)


def amend_product(
    session: Session, principal: Principal, product_id: int, changes: ProductChanges
) -> Product:
    """Replace only the fields `changes` gives; the others keep their stored values."""
    product = _editable(session, principal, product_id)
    given = changes.model_dump(include=changes.model_fields_set)
    # Each given field is valid on its own; the stored ones are validated again here, so a value
    # stored before a rule tightened is named rather than written back unchecked.
    form = parse_form(ProductFields, stored_fields(product) | given)
    return _apply(session, principal, product, form)


def _apply(
    session: Session, principal: Principal, product: Product, form: ProductFields
) -> Product:
    if form.name != product.name:
        _refuse_duplicate_name(session, product.organisation_id, form.name, product.id)
    _refuse_conflicting_facts(form)
    before = to_jsonable_python(stored_fields(product))
    after = form.model_dump(mode="json")
    changed = {
        field: {"before": before[field], "after": after[field]}
        for field in after
        if before[field] != after[field]
    }
    if not changed:
        return product
    product.name, product.category = form.name, form.category.value
    product.deployment_model, product.description = form.deployment_model.value, form.description
    for field, value in form.listing_fields().items():
        setattr(product, field, value)
    actor = actor_of(principal)
    record(
        session,
        actor,
        "product.updated",
        "product",
        product.id,
        {"changed": changed},
        organisation_id=product.organisation_id,
    )
    if FACT_FIELDS & changed.keys():
        session.flush()
        apply_target(session, actor, product)
    return product


def withdraw_product(session: Session, principal: Principal, product_id: int) -> Product:
    """Take the product out of lists and listings for good; its history is kept."""
    product = get_product(session, principal, product_id, "product.write")
    # Claimed by a conditional update, so of two withdrawals at once exactly one happens and is
    # audited; the other is told, as a second withdrawal later is.
    claimed = session.execute(
        update(Product)
        .where(Product.id == product.id, Product.deleted_at.is_(None))
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(product)
    if claimed.rowcount != 1:
        assert product.deleted_at is not None
        day = product.deleted_at.date().isoformat()
        raise ValidationFailed(f"{product.name!r} was already withdrawn on {day}")
    actor = actor_of(principal)
    record(
        session,
        actor,
        "product.withdrawn",
        "product",
        product.id,
        organisation_id=product.organisation_id,
    )
    apply_target(session, actor, product)
    return product
