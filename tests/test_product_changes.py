"""The product services behind the edit and withdraw pages and API operations: a change is
audited with what it changed, a refused one leaves the product as it was, another supplier's
product is out of reach, and a product is withdrawn once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Product
from posture.storage.models.enums import Role
from supplier_portal import products
from supplier_portal.product_fields import ProductChanges, ProductFields


def _stored(sessions, product_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        product = session.get(Product, product_id)
        assert product is not None
        return products.stored_fields(product) | {"withdrawn": product.deleted_at is not None}


def _actions(sessions, action: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [event.shown_data for event in events]


def test_an_amendment_changes_only_what_it_gives_and_says_so_in_the_audit_trail(
    world_db,
) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    before = _stored(sessions, product_id)
    changes = ProductChanges.model_validate(
        {"description": "Stores custody images", "support_ends": "2030-03-31"}
    )
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, changes)
    after = _stored(sessions, product_id)
    assert {k: v for k, v in after.items() if before[k] != v} == {
        "description": "Stores custody images",
        "support_ends": changes.support_ends,
    }
    assert _actions(sessions, "product.updated") == [
        {
            "changed": {
                "description": {"before": "", "after": "Stores custody images"},
                "support_ends": {"before": None, "after": "2030-03-31"},
            }
        }
    ]
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, changes)
    assert len(_actions(sessions, "product.updated")) == 1, "a change to nothing is no event"


def test_another_supplier_cannot_edit_or_withdraw_and_nothing_changes(world_db) -> None:
    world, sessions, _ = world_db
    stranger = world.principal(Role.SUPPLIER_ADMIN, org="s2")
    product_id = world.orgs["s1"].product_id
    before = _stored(sessions, product_id)
    form = ProductFields(name="Planted", category="other", deployment_model="saas")
    attempts = [
        lambda s: products.update_product(s, stranger, product_id, form),
        lambda s: products.amend_product(s, stranger, product_id, ProductChanges(name="Planted")),
        lambda s: products.withdraw_product(s, stranger, product_id),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound, match=r"^product not found$"), transaction(sessions) as s:
            attempt(s)
    assert _stored(sessions, product_id) == before


def test_a_refused_change_leaves_the_product_as_it_was(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    other = ProductFields(name="Custody Vault", category="other", deployment_model="saas")
    with transaction(sessions) as session:
        products.create_product(session, me, world.orgs["s1"].organisation_id, other)
    before = _stored(sessions, product_id)
    renamed = ProductChanges(name="Custody Vault", description="renamed")
    with (
        pytest.raises(ValidationFailed, match="already have a product"),
        transaction(sessions) as s,
    ):
        products.amend_product(s, me, product_id, renamed)
    assert _stored(sessions, product_id) == before
    with transaction(sessions) as session:
        # Stored before a rule tightened: a partial update names it rather than keep it.
        session.get(Product, product_id).connected_networks = ["PSN/Police"]  # type: ignore[union-attr]
    before = _stored(sessions, product_id)
    with pytest.raises(ValidationFailed, match="connected_networks"), transaction(sessions) as s:
        products.amend_product(s, me, product_id, ProductChanges(description="new"))
    assert _stored(sessions, product_id) == before
    assert _actions(sessions, "product.updated") == []
    # A change that gives the stale field a valid value goes through.
    fixed = ProductChanges(connected_networks=["PSN for Policing"])
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, fixed)
    assert _stored(sessions, product_id)["connected_networks"] == ["PSN for Policing"]


def test_a_product_is_withdrawn_once_and_then_refuses_edits(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    with transaction(sessions) as session:
        products.withdraw_product(session, me, product_id)
    withdrawn = _stored(sessions, product_id)
    assert withdrawn["withdrawn"] is True
    with pytest.raises(ValidationFailed, match="already withdrawn on"), transaction(sessions) as s:
        products.withdraw_product(s, me, product_id)
    with (
        pytest.raises(ValidationFailed, match="can no longer be edited"),
        transaction(sessions) as s,
    ):
        products.amend_product(s, me, product_id, ProductChanges(description="late"))
    assert _stored(sessions, product_id) == withdrawn
    assert len(_actions(sessions, "product.withdrawn")) == 1
    with sessions() as session:
        assert product_id not in [p.id for p in products.list_products(session, me)]
