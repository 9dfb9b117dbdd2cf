"""The procurement policy files are read through schemas, and the code does what each field says:
change a field in a copy of the data and the behaviour changes with it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kernel.errors import ValidationFailed
from posture.identity.permissions import PermissionDenied
from posture.storage.engine import transaction
from supplier_portal.forms import parse_form
from supplier_portal.procurement import lots, shortlists
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.lifecycle import (
    ListingLifecycle,
    ListingState,
    listing_lifecycle,
)
from supplier_portal.procurement.shortlisting_policy import (
    ShortlistingPolicy,
    TieBreak,
    shortlisting_policy,
)
from supplier_portal.procurement.shortlists import ProductInputs, RequirementForm
from tests.procurement.conftest import TODAY, list_both_products


def _shipped(name: str) -> dict[str, Any]:
    return yaml.safe_load((resources.files("supplier_portal") / "data" / name).read_text())


def _shortlisting(**changes: Any) -> ShortlistingPolicy:
    return ShortlistingPolicy.model_validate({**_shipped("shortlisting.yaml"), **changes})


def _lifecycle(**moves: dict[str, str]) -> ListingLifecycle:
    transitions = {**_shipped("listing_lifecycle.yaml")["transitions"], **moves}
    return ListingLifecycle.model_validate({"transitions": transitions})


def _requirement(pw, criteria: list[dict[str, Any]], questions: list[dict[str, str]]) -> int:
    form = parse_form(
        RequirementForm,
        {
            "title": "Records for a small force",
            "lot_ids": [list_both_products(pw)],
            "criteria": criteria,
            "quality_questions": questions,
        },
    )
    with transaction(pw.sessions) as session:
        return shortlists.create_requirement(
            session, pw.people["officer"], pw.orgs["home-office"], form
        ).id


def _rank(pw, requirement: int, inputs: dict[str, ProductInputs]) -> list[dict[str, Any]]:
    by_id = {pw.products[name]: given for name, given in inputs.items()}
    with pw.sessions() as session:
        return shortlists.rank_products(session, pw.people["officer"], requirement, by_id, TODAY)


# shortlisting.yaml


def test_the_shipped_shortlisting_rules_load() -> None:
    policy = shortlisting_policy()
    assert policy.tie_breaks == (
        TieBreak.SECURITY_POSTURE,
        TieBreak.PRICE_ASCENDING,
        TieBreak.PRODUCT_ID_ASCENDING,
    )
    assert policy.top_quality == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tie_break": ["product_id_ascending"]}, "Extra inputs are not permitted"),
        ({"tie_breaks": ["cheapest", "product_id_ascending"]}, "Input should be"),
        ({"tie_breaks": ["security_posture"]}, "include product_id_ascending"),
        ({"tie_breaks": ["price_ascending"] * 2 + ["product_id_ascending"]}, "appear once"),
        ({"quality_scale": {1: "Some", 2: "All"}}, "points run 0, 1, 2"),
        ({"max_compare": 1}, "greater than or equal to 2"),
    ],
)
def test_a_mistake_in_shortlisting_yaml_fails_when_it_is_read(changes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _shortlisting(**changes)


def test_tie_breaks_decide_the_order_of_two_products_with_the_same_total(pw, monkeypatch) -> None:
    # Both products have the same posture, so security posture and social value tie them; only
    # the tie-breaks tell them apart: mapper is cheaper, vault has the lower id.
    requirement = _requirement(
        pw, [{"key": "security_posture", "weight": 90}, {"key": "social_value", "weight": 10}], []
    )
    inputs = {
        "vault": ProductInputs(price=200, social_value=50),
        "mapper": ProductInputs(price=100, social_value=50),
    }
    shipped = _rank(pw, requirement, inputs)
    assert shipped[0]["total"] == shipped[1]["total"]
    assert [r["product"] for r in shipped] == ["mapper", "vault"]
    assert "tied on total, placed by security posture, then price ascending" in shipped[0]["why"]

    reversed_order = list(reversed(shortlisting_policy().tie_breaks))
    monkeypatch.setattr(
        shortlists, "shortlisting_policy", lambda: _shortlisting(tie_breaks=reversed_order)
    )
    assert [r["product"] for r in _rank(pw, requirement, inputs)] == ["vault", "mapper"]


def test_the_quality_scale_sets_what_a_full_answer_is_worth(pw, monkeypatch) -> None:
    requirement = _requirement(
        pw,
        [{"key": "quality", "weight": 90}, {"key": "social_value", "weight": 10}],
        [{"key": "support", "text": "How will you support force control rooms?"}],
    )
    inputs = {
        name: ProductInputs(price=100, quality={"support": 2}, social_value=50)
        for name in ("vault", "mapper")
    }
    assert _rank(pw, requirement, inputs)[0]["components"]["quality"] == 50

    three_points = _shortlisting(quality_scale={0: "None", 1: "Some", 2: "All"})
    monkeypatch.setattr(shortlists, "shortlisting_policy", lambda: three_points)
    assert _rank(pw, requirement, inputs)[0]["components"]["quality"] == 100
    with pytest.raises(ValidationFailed, match="3 is not on the 0-2 scale"):
        parse_form(ProductInputs, {"price": 10, "quality": {"support": 3}})


def test_the_least_social_value_weight_comes_from_the_data(monkeypatch) -> None:
    form = {
        "title": "Light on social value",
        "lot_ids": [1],
        "criteria": [
            {"key": "security_posture", "weight": 95},
            {"key": "social_value", "weight": 5},
        ],
    }
    with pytest.raises(ValidationFailed, match="at least 10%"):
        parse_form(RequirementForm, form)
    monkeypatch.setattr(
        shortlists, "shortlisting_policy", lambda: _shortlisting(min_social_value_weight=5)
    )
    assert parse_form(RequirementForm, form).criteria[1].weight == 5


def test_how_many_products_may_be_compared_comes_from_the_data(pw, monkeypatch) -> None:
    requirement = _requirement(
        pw, [{"key": "security_posture", "weight": 90}, {"key": "social_value", "weight": 10}], []
    )
    inputs = {pw.products[name]: ProductInputs(price=100) for name in ("vault", "mapper")}
    with transaction(pw.sessions) as session:
        version = shortlists.save_shortlist(
            session, pw.people["officer"], requirement, inputs, TODAY
        ).id
    one = [pw.products["vault"]]
    with pw.sessions() as session, pytest.raises(ValidationFailed, match="between 2 and 5"):
        shortlists.compare(session, pw.people["officer"], version, one)
    monkeypatch.setattr(shortlists, "shortlisting_policy", lambda: _shortlisting(max_compare=3))
    with pw.sessions() as session, pytest.raises(ValidationFailed, match="between 2 and 3"):
        shortlists.compare(session, pw.people["officer"], version, one)


# listing_lifecycle.yaml


@pytest.mark.parametrize(
    ("transitions", "message"),
    [
        ({"applied": {"listd": "officer"}}, "Input should be"),
        ({"applied": {"listed": "buyer"}}, "Input should be 'officer' or 'supplier'"),
        ({"listed": {"listed": "officer"}}, "cannot move to itself"),
    ],
)
def test_a_mistake_in_the_listing_lifecycle_fails_when_it_is_read(transitions, message) -> None:
    with pytest.raises(ValidationError, match=message):
        _lifecycle(**transitions)


def test_the_lifecycle_must_say_where_every_state_may_move() -> None:
    transitions = _shipped("listing_lifecycle.yaml")["transitions"]
    del transitions["withdrawn"]
    with pytest.raises(ValidationError, match="say where withdrawn may move"):
        ListingLifecycle.model_validate({"transitions": transitions})
    with pytest.raises(ValidationError, match="Extra inputs"):
        ListingLifecycle.model_validate({"transitions": transitions, "initial": "applied"})


def test_the_states_a_person_can_choose_are_those_some_move_reaches() -> None:
    assert listing_lifecycle().destinations() == [
        ListingState.UNDER_REVIEW,
        ListingState.LISTED,
        ListingState.SUSPENDED,
        ListingState.WITHDRAWN,
    ]
    shortcut = _lifecycle(applied={"listed": "officer"}, under_review={"listed": "officer"})
    assert ListingState.UNDER_REVIEW not in shortcut.destinations()


def _application(pw) -> int:
    with transaction(pw.sessions) as session:
        framework = lots.create_framework(
            session, pw.people["officer"], pw.orgs["home-office"], "PoliceTech COTS 2027"
        )
        lot = lots.add_lot(session, pw.people["officer"], framework.id, "saas", "SaaS", Gates())
        return lots.apply_product(session, pw.people["a1"], lot.id, pw.products["vault"], TODAY).id


def test_which_moves_are_allowed_comes_from_the_data(pw, monkeypatch) -> None:
    application = _application(pw)
    with transaction(pw.sessions) as session, pytest.raises(ValidationFailed, match="cannot"):
        lots.transition(session, pw.people["officer"], application, "listed", today=TODAY)
    monkeypatch.setattr(
        lots, "listing_lifecycle", lambda: _lifecycle(applied={"listed": "officer"})
    )
    with transaction(pw.sessions) as session:
        moved = lots.transition(session, pw.people["officer"], application, "listed", today=TODAY)
        assert moved.status == "listed"


def test_who_may_make_a_move_comes_from_the_data(pw, monkeypatch) -> None:
    application = _application(pw)
    officers_only = _lifecycle(applied={"under_review": "officer", "withdrawn": "officer"})
    with monkeypatch.context() as patched:
        patched.setattr(lots, "listing_lifecycle", lambda: officers_only)
        with transaction(pw.sessions) as session, pytest.raises(PermissionDenied):
            lots.transition(session, pw.people["a1"], application, "withdrawn")
    with transaction(pw.sessions) as session:
        withdrawn = lots.transition(session, pw.people["a1"], application, "withdrawn")
        assert withdrawn.status == "withdrawn"
