"""The same rules as the engine, as a plain loop over answers. It is the yardstick the engine is
tested and benchmarked against, and it reads the framework objects, not the bitmask tables."""

from __future__ import annotations

import math

import numpy as np

from frameworks.loader import LoadedFramework
from frameworks.schema import LEVEL_ORDER
from frameworks.scoring_policy import PROVENANCES
from posture.scoring.encode import age_in_days, end_of_day
from posture.scoring.inputs import Estate
from posture.scoring.results import EstateScores
from posture.scoring.rules import (
    AUTOMATED_CHECK_RANK,
    NOT_ACHIEVED,
    NOT_APPLICABLE,
    answer_claim,
    decay,
)

POINTS_BY_LEVEL = ("not_achieved", "partially_achieved", "achieved")


def score_reference(estate: Estate, loaded: LoadedFramework) -> EstateScores:
    framework, policy = loaded.framework, loaded.scoring
    as_of = end_of_day(estate)
    parents = framework.outcome_parents()
    objective_ids = [o.id for o in framework.objectives]
    bands = policy.band_names()
    cap_index = bands.index(policy.critical_not_achieved_cap)
    results: dict[str, list] = {
        k: []
        for k in (
            "score",
            "confidence",
            "band",
            "capped",
            "contradicted",
            "not_applicable",
            "gaps",
            "gap_levels",
            "objective_scores",
            "row_claimed",
            "row_final",
            "row_contradicted",
            "row_confidence",
        )
    }
    for subject in estate.subjects:
        profile = loaded.profiles[subject.profile_id]
        numerator = denominator = confidence_sum = 0.0
        objective_num = dict.fromkeys(objective_ids, 0.0)
        objective_den = dict.fromkeys(objective_ids, 0.0)
        contradicted = not_applicable = gaps = gap_levels = 0
        critical_failed = False
        for outcome in framework.outcomes():
            target = profile.target_for(outcome)
            if target is None:
                continue
            answer = subject.answers.get(outcome.id)
            check = subject.checks.get(outcome.id)
            claim = answer_claim(outcome, answer).level
            final, is_contradicted = claim, False
            confidence = 0.0
            if answer is not None:
                provenance = PROVENANCES.index(answer.provenance)
                age = age_in_days(answer.answered_at, as_of)
                if claim != NOT_APPLICABLE and check is not None:
                    check_age = age_in_days(check.checked_at, as_of)
                    if check.level < claim:
                        final, is_contradicted = check.level, True
                        provenance, age = AUTOMATED_CHECK_RANK, check_age
                    elif provenance < AUTOMATED_CHECK_RANK:
                        provenance, age = AUTOMATED_CHECK_RANK, min(age, check_age)
                weights = policy.confidence.provenance_weights
                confidence = weights[PROVENANCES[provenance]] * decay(
                    age, policy.confidence.half_life_days
                )
            results["row_claimed"].append(claim)
            results["row_final"].append(final)
            results["row_contradicted"].append(is_contradicted)
            results["row_confidence"].append(confidence)
            contradicted += is_contradicted
            if final == NOT_APPLICABLE:
                not_applicable += 1
                continue
            points = getattr(policy.points, POINTS_BY_LEVEL[final])
            weight = float(outcome.weight)
            numerator += weight * points
            denominator += weight
            confidence_sum += weight * confidence
            objective_id = parents[outcome.id][0]
            objective_num[objective_id] += weight * points
            objective_den[objective_id] += weight
            if outcome.critical and final == NOT_ACHIEVED:
                critical_failed = True
            if LEVEL_ORDER[target] > final:
                gaps += 1
                gap_levels += LEVEL_ORDER[target] - final
        score = 100.0 * numerator / denominator if denominator > 0 else 0.0
        band_index = bands.index(policy.band_for(score))
        capped = critical_failed and band_index < cap_index
        results["score"].append(score)
        results["confidence"].append(confidence_sum / denominator if denominator > 0 else 0.0)
        results["band"].append(bands[cap_index] if capped else bands[band_index])
        results["capped"].append(capped)
        results["contradicted"].append(contradicted)
        results["not_applicable"].append(not_applicable)
        results["gaps"].append(gaps)
        results["gap_levels"].append(gap_levels)
        results["objective_scores"].append(
            [
                100.0 * objective_num[o] / objective_den[o] if objective_den[o] > 0 else math.nan
                for o in objective_ids
            ]
        )
    return EstateScores(
        subjects=[s.subject for s in estate.subjects],
        objective_ids=objective_ids,
        score=np.array(results["score"], np.float64),
        confidence=np.array(results["confidence"], np.float64),
        band=results["band"],
        capped=np.array(results["capped"], np.bool_),
        contradicted=np.array(results["contradicted"], np.int64),
        not_applicable=np.array(results["not_applicable"], np.int64),
        gaps=np.array(results["gaps"], np.int64),
        gap_levels=np.array(results["gap_levels"], np.int64),
        objective_scores=np.array(results["objective_scores"], np.float64).reshape(
            len(estate.subjects), len(objective_ids)
        ),
        row_claimed=np.array(results["row_claimed"], np.int8),
        row_final=np.array(results["row_final"], np.int8),
        row_contradicted=np.array(results["row_contradicted"], np.bool_),
        row_confidence=np.array(results["row_confidence"], np.float64),
    )
