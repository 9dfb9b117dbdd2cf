"""A product's listing facts are refused when they cannot be true: a certification without the
day it expires is refused by name (never kept or dropped quietly), and an end of life before
support ends is a conflict. A refusal stores and audits nothing, from the form or the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kernel.errors import ValidationFailed
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Product
from posture.storage.models.enums import Role
from supplier_portal import products
from supplier_portal.forms import ProductForm, parse_form
from supplier_portal.product_fields import ProductChanges

BASE = {"name": "Evidence Locker", "category": "digital_evidence", "deployment_model": "saas"}


def _counts(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Product))
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(("product.created", "product.updated")))
        )
        return int(stored or 0), int(audited or 0)


@pytest.mark.parametrize(
    "held",
    [
        {"scheme": "iso27001"},
        {"scheme": "iso27001", "expires": None},
        {"scheme": "iso27001", "expires": ""},
    ],
)
def test_a_certification_without_its_expiry_is_refused_by_name(held: dict[str, object]) -> None:
    certifications = [{"scheme": "cyber_essentials", "expires": "2027-01-31"}, held]
    with pytest.raises(ValidationFailed) as refused:
        parse_form(ProductForm, BASE | {"certifications": certifications})
    assert str(refused.value) == (
        "certifications.1: iso27001: give the day it expires (YYYY-MM-DD)"
    )


def test_an_amendment_adding_a_certification_without_expiry_changes_nothing(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    before = _counts(sessions)
    with pytest.raises(ValidationFailed, match="iso27001: give the day it expires"):
        parse_form(ProductChanges, {"certifications": [{"scheme": "iso27001"}]})
    with sessions() as session:
        product = session.get(Product, product_id)
        assert product is not None
        assert product.certifications == []
    # Several certifications, each with its day, are kept in full.
    changes = parse_form(
        ProductChanges,
        {
            "certifications": [
                {"scheme": "iso27001", "expires": "2027-06-01"},
                {"scheme": "cyber_essentials_plus", "expires": "2026-12-31"},
            ]
        },
    )
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, changes)
    with sessions() as session:
        product = session.get(Product, product_id)
        assert product is not None
        assert product.certifications == [
            {"scheme": "iso27001", "expires": "2027-06-01"},
            {"scheme": "cyber_essentials_plus", "expires": "2026-12-31"},
        ]
    assert _counts(sessions) == (before[0], before[1] + 1)


def test_an_end_of_life_before_support_ends_is_refused_and_nothing_is_stored(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    organisation_id = world.orgs["s1"].organisation_id
    form = parse_form(
        ProductForm, BASE | {"support_ends": "2031-03-31", "end_of_life": "2030-03-31"}
    )
    before = _counts(sessions)
    with (
        pytest.raises(ValidationFailed, match=r"^end_of_life: 2030-03-31 is before support ends"),
        transaction(sessions) as session,
    ):
        products.create_product(session, me, organisation_id, form)
    assert _counts(sessions) == before
    # The same day for both is allowed: support runs to the end of life.
    same_day = parse_form(
        ProductForm, BASE | {"support_ends": "2031-03-31", "end_of_life": "2031-03-31"}
    )
    with transaction(sessions) as session:
        products.create_product(session, me, organisation_id, same_day)


def test_an_amendment_that_moves_end_of_life_before_stored_support_is_refused(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    with transaction(sessions) as session:
        products.amend_product(
            session, me, product_id, parse_form(ProductChanges, {"support_ends": "2030-06-30"})
        )
    before = _counts(sessions)
    with (
        pytest.raises(ValidationFailed, match="is before support ends"),
        transaction(sessions) as session,
    ):
        products.amend_product(
            session, me, product_id, parse_form(ProductChanges, {"end_of_life": "2029-01-01"})
        )
    assert _counts(sessions) == before
    with sessions() as session:
        product = session.get(Product, product_id)
        assert product is not None
        assert product.end_of_life is None
