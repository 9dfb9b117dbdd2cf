"""Moderation arithmetic: totals, spread, outliers, majorities, thresholds, deterministic ties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from supplier_portal.challenges.moderation import (
    JudgeScore,
    flag_outliers,
    moderate_entry,
    moderation_policy,
    rank,
    weighted_total,
)

RUBRIC = [
    {"key": "impact", "weight": 60, "scale_min": 0, "scale_max": 10},
    {"key": "feasibility", "weight": 40, "scale_min": 1, "scale_max": 5},
]
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def judge(
    allocation: int,
    impact: int,
    feasibility: int,
    in_scope: bool = True,
    fund: bool = True,
    excluded: bool = False,
) -> JudgeScore:
    return JudgeScore(
        allocation,
        allocation,
        {"impact": impact, "feasibility": feasibility},
        in_scope,
        fund,
        excluded,
    )


def test_weighted_total_places_each_score_on_its_own_scale() -> None:
    assert weighted_total(RUBRIC, {"impact": 10, "feasibility": 5}) == 100
    assert weighted_total(RUBRIC, {"impact": 0, "feasibility": 1}) == 0
    assert weighted_total(RUBRIC, {"impact": 5, "feasibility": 3}) == pytest.approx(50)


def test_mean_median_and_sample_spread() -> None:
    result = moderate_entry(
        1, T0, RUBRIC, [judge(1, 10, 5), judge(2, 5, 3), judge(3, 8, 4)], 50, moderation_policy()
    )
    assert result.totals == {1: 100, 2: 50, 3: 78}
    assert result.mean == pytest.approx(76)
    assert result.median == 78
    assert result.spread == pytest.approx(25.0599, abs=1e-3)


def test_a_score_far_from_the_others_is_flagged() -> None:
    totals = {1: 80.0, 2: 78.0, 3: 20.0}
    assert flag_outliers(totals, moderation_policy()) == [3]


def test_outliers_need_enough_judges() -> None:
    assert flag_outliers({1: 90.0, 2: 10.0}, moderation_policy()) == []


def test_an_excluded_score_leaves_the_mean_but_stays_visible_as_an_outlier() -> None:
    judges = [judge(1, 8, 4), judge(2, 8, 4), judge(3, 0, 1, excluded=True)]
    result = moderate_entry(1, T0, RUBRIC, judges, 50, moderation_policy())
    assert result.outliers == [3]
    assert result.judges_counted == 2
    assert result.mean == pytest.approx(78)


def test_majorities_are_strict_and_decide_scope_and_funding() -> None:
    split = [judge(1, 9, 5, in_scope=True, fund=True), judge(2, 9, 5, in_scope=False, fund=False)]
    result = moderate_entry(1, T0, RUBRIC, split, 50, moderation_policy())
    assert not result.in_scope
    assert not result.fund
    assert not result.meets_quality


def test_the_quality_threshold_keeps_weak_entries_unranked() -> None:
    weak = moderate_entry(1, T0, RUBRIC, [judge(1, 2, 2), judge(2, 3, 2)], 60, moderation_policy())
    strong = moderate_entry(
        2, T0, RUBRIC, [judge(3, 9, 5), judge(4, 8, 5)], 60, moderation_policy()
    )
    ordered = rank([weak, strong], moderation_policy())
    assert [(e.entry_id, e.rank) for e in ordered] == [(2, 1), (1, None)]


def _standing(entry_id: int, mean: float, median: float, fund: int, when: datetime):
    from supplier_portal.challenges.moderation import EntryModeration

    return EntryModeration(
        entry_id=entry_id,
        submitted_at=when,
        mean=mean,
        median=median,
        fund_votes=fund,
        meets_quality=True,
    )


def test_ties_break_on_median_then_fund_votes_then_time_then_id() -> None:
    early, late = T0, datetime(2026, 11, 2, tzinfo=UTC)
    standings = [
        _standing(1, 70, 70, 1, late),
        _standing(2, 70, 72, 0, late),  # best median
        _standing(3, 70, 70, 2, late),  # most fund votes among the rest
        _standing(4, 70, 70, 1, early),  # earlier than 1 and 6
        _standing(6, 70, 70, 1, late),
        _standing(5, 75, 60, 0, late),  # highest mean of all
    ]
    ordered = rank(standings, moderation_policy())
    assert [s.entry_id for s in ordered] == [5, 2, 3, 4, 1, 6]
    assert [s.rank for s in ordered] == [1, 2, 3, 4, 5, 6]
