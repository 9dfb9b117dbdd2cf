"""The vectorised scoring engine: the rules of posture.scoring.rules over whole-estate arrays."""

from __future__ import annotations

import numpy as np

from posture.scoring.encode import EstateArrays
from posture.scoring.results import EstateScores
from posture.scoring.rules import (
    ACHIEVED,
    AUTOMATED_CHECK_RANK,
    NOT_ACHIEVED,
    NOT_APPLICABLE,
    PARTIALLY_ACHIEVED,
)
from posture.scoring.tables import FrameworkTables


def _claimed(rows: EstateArrays, tables: FrameworkTables) -> np.ndarray:
    na, pa, a = (mask[rows.outcome] for mask in (tables.na_mask, tables.pa_mask, tables.a_mask))
    met = rows.met
    by_indicators = np.select(
        [(met & na) != 0, (met & a) == a, (pa != 0) & ((met & pa) == pa)],
        [NOT_ACHIEVED, ACHIEVED, PARTIALLY_ACHIEVED],
        default=NOT_ACHIEVED,
    )
    justified_na = rows.na_claim & rows.na_justified
    claimed = np.where(
        justified_na, NOT_APPLICABLE, np.where(rows.na_claim, NOT_ACHIEVED, by_indicators)
    )
    return np.where(rows.answered, claimed, NOT_ACHIEVED).astype(np.int8)


def _per_subject(rows: EstateArrays, values: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(rows.subject, weights=values, minlength=count)


def score_arrays(rows: EstateArrays, tables: FrameworkTables) -> EstateScores:
    subjects = len(rows.subjects)
    claimed = _claimed(rows, tables)
    assessable = rows.answered & (claimed >= 0)
    has_check = rows.check_level >= 0
    contradicted = assessable & has_check & (rows.check_level < claimed)
    corroborated = assessable & has_check & ~contradicted & (rows.provenance < AUTOMATED_CHECK_RANK)
    final = np.where(contradicted, rows.check_level, claimed).astype(np.int8)

    provenance = np.where(contradicted | corroborated, AUTOMATED_CHECK_RANK, rows.provenance)
    age = np.where(
        contradicted,
        rows.check_age_days,
        np.where(corroborated, np.minimum(rows.age_days, rows.check_age_days), rows.age_days),
    )
    decay = 0.5 ** (age / tables.half_life_days)
    confidence = np.where(
        rows.answered, tables.provenance_weight[np.clip(provenance, 0, None)] * decay, 0.0
    )

    applicable = final >= 0
    weight = np.where(applicable, tables.weight[rows.outcome], 0.0)
    points = tables.points[np.clip(final, 0, None)]
    numerator = _per_subject(rows, weight * points, subjects)
    denominator = _per_subject(rows, weight, subjects)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(denominator > 0, 100.0 * numerator / denominator, 0.0)
        overall_confidence = np.where(
            denominator > 0, _per_subject(rows, weight * confidence, subjects) / denominator, 0.0
        )

    critical_failed = (
        _per_subject(rows, (tables.critical[rows.outcome] & (final == NOT_ACHIEVED)), subjects) > 0
    )
    band_index = (tables.band_min_scores[None, :-1] > score[:, None]).sum(axis=1)
    capped = critical_failed & (band_index < tables.critical_cap_index)
    band_index = np.where(capped, tables.critical_cap_index, band_index)

    short = applicable & (rows.target > final)
    objectives = len(tables.objective_ids)
    key = rows.subject * objectives + tables.objective_of[rows.outcome]
    objective_num = np.bincount(key, weights=weight * points, minlength=subjects * objectives)
    objective_den = np.bincount(key, weights=weight, minlength=subjects * objectives)
    with np.errstate(invalid="ignore", divide="ignore"):
        objective_scores = np.where(
            objective_den > 0, 100.0 * objective_num / objective_den, np.nan
        ).reshape(subjects, objectives)

    return EstateScores(
        subjects=rows.subjects,
        objective_ids=tables.objective_ids,
        score=score,
        confidence=overall_confidence,
        band=[tables.band_names[i] for i in band_index],
        capped=capped,
        contradicted=_per_subject(rows, contradicted, subjects).astype(np.int64),
        not_applicable=_per_subject(rows, final == NOT_APPLICABLE, subjects).astype(np.int64),
        gaps=_per_subject(rows, short, subjects).astype(np.int64),
        gap_levels=_per_subject(rows, np.where(short, rows.target - final, 0), subjects).astype(
            np.int64
        ),
        objective_scores=objective_scores,
        row_claimed=claimed,
        row_final=final,
        row_contradicted=contradicted,
        row_confidence=confidence,
    )
