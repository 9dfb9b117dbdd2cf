"""Moderation arithmetic, pure: weighted totals, mean, median, spread, outliers, majorities,
the quality threshold and a ranking with deterministic tie-breaks (all rules in data)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict


class ModerationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    outlier_points: float
    min_judges_for_outliers: int
    tie_breaks: list[str]


@cache
def moderation_policy() -> ModerationPolicy:
    text = (resources.files("supplier_portal") / "data" / "moderation.yaml").read_text("utf-8")
    return ModerationPolicy.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class JudgeScore:
    allocation_id: int
    judge_user_id: int
    scores: dict[str, int]
    in_scope: bool
    fund: bool
    excluded: bool = False


@dataclass
class EntryModeration:
    entry_id: int
    submitted_at: datetime
    totals: dict[int, float] = field(default_factory=dict)  # allocation id -> 0-100
    mean: float = 0.0
    median: float = 0.0
    spread: float = 0.0
    outliers: list[int] = field(default_factory=list)  # allocation ids
    in_scope_votes: int = 0
    fund_votes: int = 0
    judges_counted: int = 0
    in_scope: bool = False
    fund: bool = False
    meets_quality: bool = False
    rank: int | None = None


def weighted_total(rubric: list[dict[str, Any]], scores: dict[str, int]) -> float:
    """0-100: each criterion's score placed on its scale, weighted by its percentage."""
    total = 0.0
    for criterion in rubric:
        low, high = criterion["scale_min"], criterion["scale_max"]
        total += criterion["weight"] * (scores[criterion["key"]] - low) / (high - low)
    return round(total, 6)


def flag_outliers(totals: dict[int, float], policy: ModerationPolicy) -> list[int]:
    if len(totals) < policy.min_judges_for_outliers:
        return []
    # The median of all totals resists the outlier itself; the median of "the others" would not
    # with three judges, where the outlier drags the other two's midpoint towards it.
    centre = statistics.median(totals.values())
    return sorted(a for a, total in totals.items() if abs(total - centre) > policy.outlier_points)


def moderate_entry(
    entry_id: int,
    submitted_at: datetime,
    rubric: list[dict[str, Any]],
    judges: list[JudgeScore],
    quality_threshold: float,
    policy: ModerationPolicy,
) -> EntryModeration:
    result = EntryModeration(entry_id=entry_id, submitted_at=submitted_at)
    all_totals = {j.allocation_id: weighted_total(rubric, j.scores) for j in judges}
    result.outliers = flag_outliers(all_totals, policy)
    counted = [j for j in judges if not j.excluded]
    result.totals = {j.allocation_id: all_totals[j.allocation_id] for j in counted}
    values = list(result.totals.values())
    result.judges_counted = len(counted)
    if values:
        result.mean = round(statistics.fmean(values), 4)
        result.median = round(statistics.median(values), 4)
        result.spread = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
    result.in_scope_votes = sum(j.in_scope for j in counted)
    result.fund_votes = sum(j.fund for j in counted)
    # A strict majority of the judges counted; a tie is not a majority.
    result.in_scope = result.in_scope_votes * 2 > len(counted)
    result.fund = result.fund_votes * 2 > len(counted)
    result.meets_quality = bool(counted) and result.in_scope and result.mean >= quality_threshold
    return result


def _sort_key(entry: EntryModeration, tie_breaks: list[str]) -> tuple[Any, ...]:
    key: list[Any] = []
    for rule in tie_breaks:
        if rule == "mean":
            key.append(-entry.mean)
        elif rule == "median":
            key.append(-entry.median)
        elif rule == "fund_votes":
            key.append(-entry.fund_votes)
        elif rule == "submitted_at_ascending":
            key.append(entry.submitted_at)
        elif rule == "entry_id_ascending":
            key.append(entry.entry_id)
        else:
            raise ValueError(f"unknown tie-break rule {rule!r}")
    return tuple(key)


def rank(entries: list[EntryModeration], policy: ModerationPolicy) -> list[EntryModeration]:
    """Entries meeting the quality threshold first, ranked 1..n; the rest follow unranked."""
    qualifying = sorted(
        (e for e in entries if e.meets_quality), key=lambda e: _sort_key(e, policy.tie_breaks)
    )
    others = sorted(
        (e for e in entries if not e.meets_quality), key=lambda e: _sort_key(e, policy.tie_breaks)
    )
    for position, entry in enumerate(qualifying, start=1):
        entry.rank = position
    for entry in others:
        entry.rank = None
    return qualifying + others
