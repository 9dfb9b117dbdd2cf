"""Saved shortlist versions: listed with who saved them and by which weights, reopened exactly as
saved, and compared (which products entered, left or moved, and why)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, Principal
from posture.storage.engine import transaction
from posture.storage.models import Answer, Product, ShortlistVersion, User
from posture.storage.models.enums import Role
from supplier_portal.forms import parse_form
from supplier_portal.procurement import shortlist_versions, shortlists
from supplier_portal.procurement.shortlists import ProductInputs, VersionWeights
from tests.procurement.conftest import TODAY, list_both_products
from tests.procurement.test_shortlists import _inputs, _requirement


def _weights(**weights: int) -> VersionWeights:
    return parse_form(
        VersionWeights, {"criteria": [{"key": k, "weight": v} for k, v in weights.items()]}
    )


def _save(pw, requirement: int, inputs=None, weights=None) -> int:  # type: ignore[no-untyped-def]
    with transaction(pw.sessions) as session:
        return shortlists.save_shortlist(
            session,
            pw.people["officer"],
            requirement,
            inputs or _inputs(pw),
            TODAY,
            weights,
        ).id


def test_versions_are_listed_newest_first_with_who_saved_them_and_the_weights(pw) -> None:
    with transaction(pw.sessions) as session:
        officer = session.get(User, pw.people["officer"].user_id)
        officer.display_name = "Priya Buyer"
    requirement = _requirement(pw, list_both_products(pw))
    _save(pw, requirement)
    _save(pw, requirement, weights=_weights(security_posture=20, price=70, social_value=10))
    with pw.sessions() as session:
        listed = shortlist_versions.list_versions(session, pw.people["officer"], requirement)
    assert [v.version for v in listed] == [2, 1]
    assert {v.saved_by for v in listed} == {"Priya Buyer"}
    assert listed[1].criteria_text == (
        "security posture 40%, price 30%, quality 20%, social value 10%"
    )
    assert listed[0].criteria_text == "security posture 20%, price 70%, social value 10%"
    assert (listed[0].ranked, listed[0].excluded) == (2, 0)
    assert listed[0].leader in {"vault", "mapper"}


def test_a_reopened_version_shows_the_ranking_as_saved_not_as_it_would_rank_today(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    first = _save(pw, requirement)
    with pw.sessions() as session:
        saved = shortlist_versions.saved_ranking(session, pw.people["officer"], first)
    # The facts move on: vault is renamed and no answer meets an indicator any more.
    with transaction(pw.sessions) as session:
        session.get(Product, pw.products["vault"]).name = "vault renamed"
        session.execute(update(Answer).values(indicators_met=[]))
    with pw.sessions() as session:
        reopened = shortlist_versions.saved_ranking(session, pw.people["officer"], first)
        today = shortlists.rank_products(
            session, pw.people["officer"], requirement, _inputs(pw), TODAY
        )
    assert reopened.equals(saved)
    assert set(reopened["Product"]) == {"vault", "mapper"}
    assert set(reopened["Supplier"]) == {"Org s1", "Org s2"}
    assert "vault renamed" in [r["product"] for r in today]
    assert sorted(r["total"] for r in today) != sorted(reopened["Total"])


def test_the_next_version_starts_from_what_the_last_one_was_ranked_from(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    first = _save(
        pw,
        requirement,
        inputs=_inputs(pw, vault_price=250),
        weights=_weights(security_posture=30, price=60, social_value=10),
    )
    with pw.sessions() as session:
        inputs, weights = shortlist_versions.version_inputs(session, pw.people["officer"], first)
    assert inputs[pw.products["vault"]].price == 250
    assert weights == {"security_posture": 30, "price": 60, "social_value": 10}


def test_comparing_names_what_entered_moved_and_why(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    # Version 1: mapper far cheaper, price weighs most: mapper first.
    first = _save(
        pw,
        requirement,
        inputs=_inputs(pw, vault_price=400, mapper_price=100),
        weights=_weights(security_posture=10, price=80, social_value=10),
    )
    # Version 2: vault matches the price and quality counts: vault first.
    second = _save(
        pw,
        requirement,
        inputs=_inputs(pw, vault_price=100, mapper_price=100, vault_quality=4, mapper_quality=0),
        weights=_weights(security_posture=10, price=40, quality=40, social_value=10),
    )
    with pw.sessions() as session:
        comparison = shortlist_versions.compare_versions(
            session, pw.people["officer"], first, second
        )
    assert comparison.weight_changes == (
        "price weighs 40% (was 80%)",
        "quality now weighed at 40% (not weighed before)",
    )
    (up,) = comparison.of("moved up")
    (down,) = comparison.of("moved down")
    assert (up.product, up.rank_before, up.rank_after) == ("vault", 2, 1)
    assert (down.product, down.rank_before, down.rank_after) == ("mapper", 1, 2)
    assert "price score 100 (was 25) at £100.00 (was £400.00)" in up.reasons
    assert "quality score 100 (was 75)" in up.reasons
    assert "quality weighs 40% (was 0%)" in up.reasons
    assert "price weighs 40% (was 80%)" in down.reasons
    assert up.supplier == "Org s1"


def test_a_product_a_gate_now_excludes_is_shown_leaving_with_the_gate_named(pw) -> None:
    requirement = _requirement(pw, list_both_products(pw), gates={"allowed_data_locations": ["uk"]})
    with transaction(pw.sessions) as session:
        session.get(Product, pw.products["mapper"]).data_locations = ["uk"]
    first = _save(pw, requirement)
    with transaction(pw.sessions) as session:  # mapper starts holding data in the US too
        session.get(Product, pw.products["mapper"]).data_locations = ["uk", "us"]
    second = _save(pw, requirement)
    with pw.sessions() as session:
        comparison = shortlist_versions.compare_versions(
            session, pw.people["officer"], first, second
        )
    (left,) = comparison.of("left")
    assert (left.product, left.rank_after) == ("mapper", None)
    assert any("data_location (data held in us)" in reason for reason in left.reasons)
    assert comparison.weight_changes == ()


def test_comparing_a_version_with_itself_another_requirements_or_a_strangers_is_refused(
    pw,
) -> None:
    lot = list_both_products(pw)
    requirement = _requirement(pw, lot)
    first = _save(pw, requirement)
    second = _save(pw, requirement)
    elsewhere = _save(pw, _requirement(pw, lot, title="Another requirement"))
    stranger = Principal(
        999, "x@other.police.uk", (Membership(pw.orgs["s2"], Role.FORCE_ASSESSOR),)
    )
    with pw.sessions() as session:
        with pytest.raises(ValidationFailed, match="two different versions"):
            shortlist_versions.compare_versions(session, pw.people["officer"], first, first)
        with pytest.raises(ValidationFailed, match="same requirement"):
            shortlist_versions.compare_versions(session, pw.people["officer"], first, elsewhere)
        with pytest.raises(NotFound):
            shortlist_versions.compare_versions(session, stranger, first, second)
        with pytest.raises(NotFound):
            shortlist_versions.list_versions(session, stranger, requirement)
        with pytest.raises(NotFound):
            shortlist_versions.saved_ranking(session, stranger, first)


def test_re_weighing_is_held_to_the_same_rules_as_the_requirement(pw) -> None:
    with pytest.raises(ValidationFailed, match="total 100%, not 90%"):
        _weights(security_posture=50, price=30, social_value=10)
    with pytest.raises(ValidationFailed, match="at least 10%"):
        _weights(security_posture=95, social_value=5)
    requirement = _requirement(
        pw,
        list_both_products(pw),
        criteria=[{"key": "price", "weight": 90}, {"key": "social_value", "weight": 10}],
        quality_questions=[],
    )
    with pytest.raises(ValidationFailed, match="asks no quality questions"):
        _save(pw, requirement, weights=_weights(price=50, quality=40, social_value=10))


def test_a_version_saved_before_re_weighing_existed_is_read_by_the_requirements_weights(
    pw,
) -> None:
    requirement = _requirement(pw, list_both_products(pw))
    first = _save(pw, requirement)
    with transaction(pw.sessions) as session:
        version = session.get(ShortlistVersion, first)
        # The stored shape of earlier releases: product inputs alone, keyed by product id, and
        # rows that did not name their supplier.
        version.inputs = dict(version.inputs["products"])
        version.ranking = [
            {k: v for k, v in row.items() if k != "supplier"} for row in version.ranking
        ]
    second = _save(pw, requirement)
    with pw.sessions() as session:
        inputs, weights = shortlist_versions.version_inputs(session, pw.people["officer"], first)
        summary = shortlist_versions.list_versions(session, pw.people["officer"], requirement)[1]
        shown = shortlist_versions.saved_ranking(session, pw.people["officer"], first)
        compared = shortlist_versions.compare_versions(session, pw.people["officer"], first, second)
    assert set(shown["Supplier"]) == {"Org s1", "Org s2"}
    assert {p.supplier for p in compared.products} == {"Org s1", "Org s2"}
    assert compared.weight_changes == ()
    assert set(inputs) == set(pw.products.values())
    assert all(isinstance(given, ProductInputs) for given in inputs.values())
    assert weights == {"security_posture": 40, "price": 30, "quality": 20, "social_value": 10}
    assert summary.criteria_text.startswith("security posture 40%")
