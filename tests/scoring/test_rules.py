"""The scoring rules, one scenario each, as an assessor would state them."""

from __future__ import annotations

import pytest

from posture.scoring.rules import ACHIEVED, NOT_ACHIEVED, NOT_APPLICABLE, PARTIALLY_ACHIEVED
from tests.scoring.helpers import achieved, answer, check, levels, score, subject, with_checks


def test_all_achieved_scores_100_in_band_a_with_no_gaps() -> None:
    one = subject()
    result = score(one)
    assert result.score[0] == 100.0
    assert result.band == ["A"]
    assert result.gaps[0] == 0


def test_a_not_achieved_indicator_wins_even_when_achieved_indicators_hold() -> None:
    full = achieved("B3.a").indicators_met
    one = subject(B3_a=answer(*full, "B3.a.NA1"))
    assert levels(score(one), one)["B3.a"] == NOT_ACHIEVED


def test_all_partially_achieved_indicators_give_partially_achieved() -> None:
    one = subject(B1_a=answer("B1.a.PA1", "B1.a.PA2", "B1.a.A1"))
    assert levels(score(one), one)["B1.a"] == PARTIALLY_ACHIEVED


def test_missing_one_partially_achieved_indicator_gives_not_achieved() -> None:
    one = subject(B1_a=answer("B1.a.PA1", "B1.a.A1"))
    assert levels(score(one), one)["B1.a"] == NOT_ACHIEVED


def test_all_achieved_indicators_give_achieved_without_the_partial_ones() -> None:
    one = subject(B1_a=answer("B1.a.A1", "B1.a.A2", "B1.a.A3"))
    assert levels(score(one), one)["B1.a"] == ACHIEVED


def test_an_unanswered_outcome_counts_as_not_achieved_with_no_confidence() -> None:
    complete, missing = subject(), subject()
    del missing.answers["C2.b"]
    result = score(complete, missing)
    assert result.score[1] < result.score[0]
    assert levels(score(missing), missing)["C2.b"] == NOT_ACHIEVED
    assert result.confidence[1] < result.confidence[0]


def test_not_applicable_with_a_justification_is_left_out_and_reported() -> None:
    one = subject(B4_b=answer(not_applicable=True, justification="The product has no API."))
    result = score(one)
    assert levels(result, one)["B4.b"] == NOT_APPLICABLE
    assert result.score[0] == 100.0
    assert result.not_applicable[0] == 1


def test_not_applicable_without_a_justification_counts_as_not_achieved() -> None:
    one = subject(B4_b=answer(not_applicable=True, justification="   "))
    result = score(one)
    assert levels(result, one)["B4.b"] == NOT_ACHIEVED
    assert result.not_applicable[0] == 0


def test_points_are_weighted_by_outcome_weight() -> None:
    # B1.a weighs 4 and B4.b weighs 2: the same half-point loss costs twice as much on B1.a.
    heavy = subject(B1_a=answer("B1.a.PA1", "B1.a.PA2"))
    light = subject(B4_b=answer("B4.b.PA1"))
    result = score(heavy, light)
    assert 100 - result.score[0] == pytest.approx(2 * (100 - result.score[1]))


def test_objective_scores_roll_up_only_their_own_outcomes() -> None:
    one = subject(E2_b=answer("E2.b.NA1"))
    result = score(one)
    objectives = dict(zip(result.objective_ids, result.objective_scores[0], strict=True))
    assert objectives["E"] < 100
    assert objectives["A"] == objectives["B"] == objectives["C"] == objectives["D"] == 100


def test_a_self_asserted_90_does_not_look_like_a_verified_90() -> None:
    claimed, verified = subject(provenance="self_asserted"), subject(provenance="independent")
    result = score(claimed, verified)
    assert result.score[0] == result.score[1]
    assert result.confidence[0] < result.confidence[1] / 3


def test_evidence_loses_half_its_confidence_each_half_life() -> None:
    fresh = subject(everything_achieved=False, A1_a=achieved("A1.a", "independent"))
    old = subject(everything_achieved=False, A1_a=achieved("A1.a", "independent", age_days=365))
    result = score(fresh, old)
    assert result.confidence[1] / result.confidence[0] == pytest.approx(0.5)


def test_a_check_that_contradicts_a_claim_wins_and_is_flagged() -> None:
    one = with_checks(subject(), C3_b=check(NOT_ACHIEVED, code="PQC-TLS-001"))
    result = score(one)
    assert levels(result, one)["C3.b"] == NOT_ACHIEVED
    assert result.contradicted[0] == 1
    assert result.score[0] < 100


def test_a_check_that_agrees_raises_confidence_but_not_the_level() -> None:
    partial = answer("C3.b.PA1", provenance="self_asserted")
    plain = subject(C3_b=partial)
    checked = with_checks(subject(C3_b=partial), C3_b=check(ACHIEVED))
    result = score(plain, checked)
    assert levels(score(checked), checked)["C3.b"] == PARTIALLY_ACHIEVED
    assert result.contradicted[1] == 0
    assert result.confidence[1] > result.confidence[0]


def test_a_critical_outcome_not_achieved_caps_the_band_at_c() -> None:
    one = subject(B2_a=answer("B2.a.NA1"))
    result = score(one)
    assert result.score[0] > 85
    assert result.band == ["C"]
    assert result.capped[0]


def test_a_low_score_is_not_lifted_by_the_cap() -> None:
    weak = subject(everything_achieved=False, B2_a=answer("B2.a.NA1"))
    result = score(weak)
    assert result.band == ["E"]
    assert not result.capped[0]


def test_gaps_count_outcomes_below_the_profile_target() -> None:
    # supplier-saas asks B2.a (critical) to be achieved and B1.b only partially achieved.
    one = subject(B2_a=answer("B2.a.PA1"), B1_b=answer("B1.b.PA1"))
    result = score(one)
    assert result.gaps[0] == 1
    assert result.gap_levels[0] == 1
