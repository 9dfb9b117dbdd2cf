"""A framework version turned into arrays: indicator bitmasks, weights, rollup indexes, targets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from frameworks.loader import LoadedFramework
from frameworks.schema import LEVEL_ORDER
from frameworks.scoring_policy import PROVENANCES

MAX_INDICATORS_PER_OUTCOME = 62  # bits in an int64 mask, keeping the sign bit clear


@dataclass(frozen=True, eq=False)
class FrameworkTables:
    loaded: LoadedFramework
    outcome_ids: list[str]
    outcome_index: dict[str, int]
    indicator_bit: dict[str, tuple[int, int]]
    weight: NDArray[np.float64]
    critical: NDArray[np.bool_]
    na_mask: NDArray[np.int64]
    pa_mask: NDArray[np.int64]
    a_mask: NDArray[np.int64]
    objective_ids: list[str]
    objective_of: NDArray[np.int64]
    targets: dict[str, NDArray[np.int8]]
    points: NDArray[np.float64]
    provenance_weight: NDArray[np.float64]
    provenance_rank: dict[str, int]
    half_life_days: float
    band_names: list[str]
    band_min_scores: NDArray[np.float64]
    critical_cap_index: int


@cache
def framework_tables(loaded: LoadedFramework) -> FrameworkTables:
    framework, policy = loaded.framework, loaded.scoring
    outcomes = framework.outcomes()
    parents = framework.outcome_parents()
    objective_ids = [objective.id for objective in framework.objectives]
    size = len(outcomes)
    na_mask, pa_mask, a_mask = (np.zeros(size, np.int64) for _ in range(3))
    indicator_bit: dict[str, tuple[int, int]] = {}
    for index, outcome in enumerate(outcomes):
        bit = 0
        for mask, indicators in (
            (na_mask, outcome.indicators.not_achieved),
            (pa_mask, outcome.indicators.partially_achieved),
            (a_mask, outcome.indicators.achieved),
        ):
            for indicator in indicators:
                if bit >= MAX_INDICATORS_PER_OUTCOME:
                    raise ValueError(f"outcome {outcome.id} has too many indicators to score")
                mask[index] |= np.int64(1) << bit
                indicator_bit[indicator.id] = (index, bit)
                bit += 1
    targets = {}
    for profile_id, profile in loaded.profiles.items():
        levels = [profile.target_for(outcome) for outcome in outcomes]
        targets[profile_id] = np.array(
            [-1 if level is None else LEVEL_ORDER[level] for level in levels], np.int8
        )
    points = policy.points
    return FrameworkTables(
        loaded=loaded,
        outcome_ids=[o.id for o in outcomes],
        outcome_index={o.id: i for i, o in enumerate(outcomes)},
        indicator_bit=indicator_bit,
        weight=np.array([o.weight for o in outcomes], np.float64),
        critical=np.array([o.critical for o in outcomes], np.bool_),
        na_mask=na_mask,
        pa_mask=pa_mask,
        a_mask=a_mask,
        objective_ids=objective_ids,
        objective_of=np.array([objective_ids.index(parents[o.id][0]) for o in outcomes]),
        targets=targets,
        points=np.array(
            [points.not_achieved, points.partially_achieved, points.achieved], np.float64
        ),
        provenance_weight=np.array(
            [policy.confidence.provenance_weights[p] for p in PROVENANCES], np.float64
        ),
        provenance_rank={p: i for i, p in enumerate(PROVENANCES)},
        half_life_days=policy.confidence.half_life_days,
        band_names=policy.band_names(),
        band_min_scores=np.array([rule.min_score for rule in policy.bands], np.float64),
        critical_cap_index=policy.band_names().index(policy.critical_not_achieved_cap),
    )
