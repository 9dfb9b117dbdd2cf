"""Turn an Estate (objects) into row arrays for the vectorised engine: one row per in-scope outcome
of each subject, in subject order then framework order. Unanswered outcomes get a row too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

import numpy as np
from numpy.typing import NDArray

from posture.scoring.inputs import Estate, SubjectRef
from posture.scoring.tables import FrameworkTables


@dataclass(frozen=True, eq=False)
class EstateArrays:
    subjects: list[SubjectRef]
    subject: NDArray[np.int64]
    outcome: NDArray[np.int64]
    met: NDArray[np.int64]
    answered: NDArray[np.bool_]
    na_claim: NDArray[np.bool_]
    na_justified: NDArray[np.bool_]
    provenance: NDArray[np.int8]
    age_days: NDArray[np.float64]
    check_level: NDArray[np.int8]
    check_age_days: NDArray[np.float64]
    target: NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.subject)


# Each row column of EstateArrays and its type: every encoder builds these, and only these.
COLUMN_TYPES: dict[str, type] = {
    "subject": np.int64,
    "outcome": np.int64,
    "met": np.int64,
    "answered": np.bool_,
    "na_claim": np.bool_,
    "na_justified": np.bool_,
    "provenance": np.int8,
    "age_days": np.float64,
    "check_level": np.int8,
    "check_age_days": np.float64,
    "target": np.int8,
}


def age_in_days(moment: datetime, as_of: datetime) -> float:
    return max((as_of - moment).total_seconds() / 86400.0, 0.0)


def end_of_day(estate: Estate) -> datetime:
    return datetime.combine(estate.as_of, time.max, tzinfo=UTC)


def encode(estate: Estate, tables: FrameworkTables) -> EstateArrays:
    as_of = end_of_day(estate)
    columns: dict[str, list] = {name: [] for name in COLUMN_TYPES}
    bits, rank = tables.indicator_bit, tables.provenance_rank
    for subject_index, subject in enumerate(estate.subjects):
        targets = tables.targets[subject.profile_id]
        for outcome_index, outcome_id in enumerate(tables.outcome_ids):
            target = int(targets[outcome_index])
            if target < 0:
                continue
            answer = subject.answers.get(outcome_id)
            check = subject.checks.get(outcome_id)
            met = 0
            if answer is not None:
                for indicator in answer.indicators_met:
                    located = bits.get(indicator)
                    if located is not None and located[0] == outcome_index:
                        met |= 1 << located[1]
            columns["subject"].append(subject_index)
            columns["outcome"].append(outcome_index)
            columns["met"].append(met)
            columns["answered"].append(answer is not None)
            columns["na_claim"].append(answer is not None and answer.not_applicable)
            # A justification matters only to a not-applicable claim.
            columns["na_justified"].append(
                answer is not None and answer.not_applicable and bool(answer.justification.strip())
            )
            columns["provenance"].append(rank[answer.provenance] if answer else -1)
            columns["age_days"].append(age_in_days(answer.answered_at, as_of) if answer else 0.0)
            columns["check_level"].append(check.level if check else -1)
            columns["check_age_days"].append(age_in_days(check.checked_at, as_of) if check else 0.0)
            columns["target"].append(target)
    arrays = {name: np.array(values, COLUMN_TYPES[name]) for name, values in columns.items()}
    return EstateArrays(subjects=[s.subject for s in estate.subjects], **arrays)
