"""One supplier never reads or changes another's records, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.identity.permissions import NotFound
from posture.scoring.service import product_score
from posture.storage.engine import transaction
from posture.storage.models import Answer, AuditEvent, Evidence, Product
from posture.storage.models.enums import Role
from supplier_portal import assessments, check_results, evidence, products
from supplier_portal.forms import AnswerForm, DeploymentModel, ProductCategory, ProductForm
from tests.identity.world import World, build_world


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions) as session:
        return build_world(session)


def _unchanged(sessions: sessionmaker[Session], before: tuple[int, ...]) -> None:
    with sessions() as session:
        after = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Product, Answer, Evidence, AuditEvent)
        )
    assert after == before


def _counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Product, Answer, Evidence, AuditEvent)
        )


@pytest.mark.parametrize("role", [Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER])
def test_another_suppliers_records_cannot_be_read(world: World, sessions, role: Role) -> None:
    me, other = world.principal(role), world.orgs["s2"]
    reads = [
        lambda s: products.get_product(s, me, other.product_id),
        lambda s: assessments.get_assessment(s, me, other.submitted_assessment_id),
        lambda s: assessments.list_answers(s, me, other.draft_assessment_id),
        lambda s: evidence.list_evidence(s, me, other.draft_assessment_id),
        lambda s: check_results.get_check_run(s, me, other.check_run_id),
        lambda s: product_score(s, me, other.product_id, date(2026, 11, 1)),
    ]
    with sessions() as session:
        for read in reads:
            with pytest.raises(NotFound):
                read(session)
        assert all(
            p.organisation_id != other.organisation_id for p in products.list_products(session, me)
        )
        assert all(
            a.organisation_id != other.organisation_id
            for a in assessments.list_assessments(session, me)
        )
        assert all(
            r.organisation_id != other.organisation_id
            for r in check_results.list_check_runs(session, me)
        )


def test_another_suppliers_records_cannot_be_changed(
    world: World, sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    me, other = world.principal(Role.SUPPLIER_ADMIN), world.orgs["s2"]
    form = ProductForm(
        name="Hijacked", category=ProductCategory.MOBILE, deployment_model=DeploymentModel.SAAS
    )
    writes = [
        lambda s: products.create_product(s, me, other.organisation_id, form),
        lambda s: products.update_product(s, me, other.product_id, form),
        lambda s: products.withdraw_product(s, me, other.product_id),
        lambda s: assessments.start_assessment(
            s, me, other.organisation_id, other.product_id, "supplier-saas"
        ),
        lambda s: assessments.save_answer(
            s, me, other.draft_assessment_id, AnswerForm(outcome_id="A1.b")
        ),
        lambda s: assessments.submit_assessment(s, me, other.draft_assessment_id),
        lambda s: evidence.add_evidence(
            s, me, backend_settings, other.draft_assessment_id, "x.pdf", b"%PDF-1.4"
        ),
    ]
    before = _counts(sessions)
    for write in writes:
        with pytest.raises(NotFound), transaction(sessions) as session:
            write(session)
    _unchanged(sessions, before)
    with sessions() as session:
        product = session.get(Product, other.product_id)
        assert product is not None
        assert product.name == "s2 Evidence Vault"
        assert product.deleted_at is None
