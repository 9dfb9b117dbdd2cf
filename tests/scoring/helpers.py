"""Small hand-made estates for scoring tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.inputs import (
    AnswerRecord,
    CheckEvidence,
    Estate,
    SubjectAnswers,
    SubjectRef,
)
from posture.scoring.results import EstateScores
from posture.scoring.tables import framework_tables

AS_OF = date(2026, 11, 1)
NOON = datetime(2026, 11, 1, 12, tzinfo=UTC)


def ptsbd() -> LoadedFramework:
    return shipped_library().latest("ptsbd")


def achieved(outcome_id: str, provenance: str = "documentary", age_days: float = 0) -> AnswerRecord:
    indicators = ptsbd().framework.outcome(outcome_id).indicators
    met = tuple(i.id for i in indicators.partially_achieved + indicators.achieved)
    return AnswerRecord(met, provenance, NOON - timedelta(days=age_days))


def answer(
    *indicator_ids: str,
    provenance: str = "documentary",
    age_days: float = 0,
    not_applicable: bool = False,
    justification: str = "",
) -> AnswerRecord:
    return AnswerRecord(
        tuple(indicator_ids),
        provenance,
        NOON - timedelta(days=age_days),
        not_applicable,
        justification,
    )


def check(level: int, code: str | None = None, age_days: float = 0) -> CheckEvidence:
    return CheckEvidence(
        level, NOON - timedelta(days=age_days), 99, code, f"finding {code}" if code else None
    )


def subject(
    profile: str = "supplier-saas",
    everything_achieved: bool = True,
    provenance: str = "documentary",
    **overrides: AnswerRecord,
) -> SubjectAnswers:
    loaded = ptsbd()
    profile_model = loaded.profiles[profile]
    answers = {}
    if everything_achieved:
        for outcome in loaded.framework.outcomes():
            if profile_model.target_for(outcome) is not None:
                answers[outcome.id] = achieved(outcome.id, provenance)
    answers.update({key.replace("_", "."): value for key, value in overrides.items()})
    return SubjectAnswers(SubjectRef("product", 1, 1, 1, "Test product"), profile, answers)


def with_checks(base: SubjectAnswers, **checks: CheckEvidence) -> SubjectAnswers:
    return SubjectAnswers(
        base.subject,
        base.profile_id,
        base.answers,
        {key.replace("_", "."): value for key, value in checks.items()},
    )


def score(*subjects: SubjectAnswers) -> EstateScores:
    tables = framework_tables(ptsbd())
    return score_arrays(encode(Estate(AS_OF, list(subjects)), tables), tables)


def levels(result: EstateScores, one: SubjectAnswers) -> dict[str, int]:
    """Final level of each in-scope outcome of a single-subject result."""
    loaded = ptsbd()
    profile = loaded.profiles[one.profile_id]
    scope = [o.id for o in loaded.framework.outcomes() if profile.target_for(o) is not None]
    assert len(scope) == len(result.row_final)
    return dict(zip(scope, (int(level) for level in result.row_final), strict=True))
