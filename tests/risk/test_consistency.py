"""Ratings compared across forces: the same product, threat and deployment facts rated to
different risk levels by different organisations is a divergence; anything else is not."""

from __future__ import annotations

import pytest

from frameworks.risk.consistency import Rating, divergent
from frameworks.risk.matrix import RiskMatrix, UnknownRiskId
from frameworks.risk.policy import risk_policy

DIGEST = "a" * 64
OTHER_DIGEST = "b" * 64


@pytest.fixture
def matrix() -> RiskMatrix:
    return risk_policy().matrix


def _rating(
    organisation: str,
    likelihood: str,
    impact: str,
    product: str = "product-1",
    threat: str = "data-breach",
    digest: str = DIGEST,
    scenario: str | None = None,
) -> Rating:
    return Rating(
        organisation_id=organisation,
        organisation_name=f"{organisation.title()} Constabulary",
        product_id=product,
        threat=threat,
        facts_digest=digest,
        likelihood=likelihood,
        impact=impact,
        suggested_likelihood="unlikely",
        scenario_id=scenario or f"{organisation}-{product}-{likelihood}-{impact}",
    )


def test_two_forces_rating_the_same_risk_differently_diverge(matrix: RiskMatrix) -> None:
    ratings = [_rating("kent", "rare", "minor"), _rating("essex", "likely", "major")]
    (divergence,) = divergent(ratings, matrix)
    assert (divergence.product_id, divergence.threat, divergence.facts_digest) == (
        "product-1",
        "data-breach",
        DIGEST,
    )
    assert (divergence.lowest.id, divergence.highest.id, divergence.spread) == (
        "very-low",
        "very-high",
        4,
    )
    assert [rated.rating.organisation_id for rated in divergence.ratings] == ["kent", "essex"]
    assert divergence.organisations() == ["essex", "kent"]


def test_different_cells_with_the_same_level_do_not_diverge(matrix: RiskMatrix) -> None:
    # possible x moderate and unlikely x major are both medium: the forces agree on the risk.
    ratings = [_rating("kent", "possible", "moderate"), _rating("essex", "unlikely", "major")]
    assert divergent(ratings, matrix) == []


def test_different_facts_are_not_compared(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "minor"),
        _rating("essex", "likely", "major", digest=OTHER_DIGEST),
    ]
    assert divergent(ratings, matrix) == []


def test_different_threats_or_products_are_not_compared(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "minor"),
        _rating("essex", "likely", "major", threat="service-loss"),
        _rating("surrey", "likely", "major", product="product-2"),
    ]
    assert divergent(ratings, matrix) == []


def test_one_force_rating_twice_is_not_divergent(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "minor", scenario="s1"),
        _rating("kent", "likely", "major", scenario="s2"),
    ]
    assert divergent(ratings, matrix) == []


def test_one_force_split_and_another_agreeing_with_one_side_diverges(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "minor", scenario="s1"),
        _rating("kent", "likely", "major", scenario="s2"),
        _rating("essex", "likely", "major", scenario="s3"),
    ]
    (divergence,) = divergent(ratings, matrix)
    # Lowest level first, then by organisation: essex before kent at very-high.
    assert [rated.rating.scenario_id for rated in divergence.ratings] == ["s1", "s3", "s2"]


def test_widest_spread_first_then_by_product(matrix: RiskMatrix) -> None:
    ratings = [
        # product-a: low vs medium, spread 1
        _rating("kent", "unlikely", "minor", product="product-a"),
        _rating("essex", "possible", "minor", product="product-a"),
        # product-b: very-low vs very-high, spread 4
        _rating("kent", "rare", "negligible", product="product-b"),
        _rating("essex", "almost-certain", "severe", product="product-b"),
        # product-0: low vs medium, spread 1, sorts before product-a
        _rating("kent", "unlikely", "minor", product="product-0"),
        _rating("essex", "possible", "minor", product="product-0"),
    ]
    found = divergent(ratings, matrix)
    assert [(d.product_id, d.spread) for d in found] == [
        ("product-b", 4),
        ("product-0", 1),
        ("product-a", 1),
    ]


def test_the_answer_does_not_depend_on_the_order_of_ratings(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "minor"),
        _rating("essex", "likely", "major"),
        _rating("surrey", "possible", "moderate"),
        _rating("kent", "unlikely", "minor", product="product-2"),
        _rating("sussex", "likely", "severe", product="product-2"),
    ]
    assert divergent(ratings, matrix) == divergent(list(reversed(ratings)), matrix)


def test_a_rating_off_the_matrix_is_refused_naming_the_scenario(matrix: RiskMatrix) -> None:
    ratings = [
        _rating("kent", "rare", "apocalyptic", scenario="s9"),
        _rating("essex", "rare", "minor"),
    ]
    with pytest.raises(UnknownRiskId, match="scenario s9: 'apocalyptic' is not a impact level"):
        divergent(ratings, matrix)


def test_a_malformed_rating_is_refused() -> None:
    with pytest.raises(ValueError, match="threat"):
        Rating.model_validate(
            {
                "organisation_id": "kent",
                "organisation_name": "Kent Police",
                "product_id": "p",
                "threat": "Data Breach!",
                "facts_digest": DIGEST,
                "likelihood": "rare",
                "impact": "minor",
                "scenario_id": "s1",
            }
        )
