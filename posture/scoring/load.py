"""Read the estate as it stood on a date as objects: each subject's current assessment, its
answers, and the levels its latest automated checks allow. Explanations and the reference loop
read this form; whole-estate scoring reads the columnar form (posture.scoring.columns)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.framework_registry import register_framework
from posture.scoring.check_levels import check_levels
from posture.scoring.inputs import (
    AnswerRecord,
    Estate,
    SubjectAnswers,
    SubjectRef,
    listed_indicators,
)
from posture.scoring.subjects import SubjectFilter, current_assessments
from posture.scoring.supply_chain import supply_chains, with_supply_chains
from posture.storage.chunks import id_chunks
from posture.storage.models import Answer

__all__ = ["RECORD_COLUMNS", "SubjectFilter", "answer_record", "counted_answers", "load_estate"]


def counted_answers() -> object:
    """An assessor's rejection withdraws the answer: the outcome counts as unanswered."""
    return or_(Answer.review_status.is_(None), Answer.review_status != "rejected")


# What an answer contributes to scoring, in the order answer_record takes it.
RECORD_COLUMNS = (
    Answer.indicators_met,
    Answer.provenance,
    Answer.answered_at,
    Answer.not_applicable,
    Answer.justification,
)


def answer_record(
    met: object, provenance: object, answered_at: datetime, na: bool, why: str
) -> AnswerRecord:
    return AnswerRecord(listed_indicators(met), str(provenance), answered_at, na, why)


def load_estate(
    session: Session, loaded: LoadedFramework, as_of: date, entity: SubjectFilter | None = None
) -> Estate:
    framework_row = register_framework(session, loaded)
    current = session.execute(current_assessments(framework_row.id, as_of, entity)).all()
    answers: dict[int, dict[str, AnswerRecord]] = defaultdict(dict)
    ids = [row[0] for row in current]
    for part in id_chunks(ids):
        rows = session.execute(
            select(Answer.assessment_id, Answer.outcome_id, *RECORD_COLUMNS).where(
                Answer.assessment_id.in_(part), counted_answers()
            )
        )
        for assessment_id, outcome_id, *record in rows:
            answers[assessment_id][outcome_id] = answer_record(*record)
    checks = check_levels(session, loaded, entity, as_of)
    forces = sorted({row[1] for row in current if row[2] is None})
    with_supply_chains(checks, supply_chains(session, loaded, forces, as_of))
    subjects = [
        SubjectAnswers(
            subject=SubjectRef(
                kind="product" if product_id else "organisation",
                organisation_id=organisation_id,
                product_id=product_id,
                assessment_id=assessment_id,
                label=label,
            ),
            profile_id=profile_id,
            answers=answers[assessment_id],
            checks=checks.get((organisation_id, product_id), {}),
        )
        for assessment_id, organisation_id, product_id, profile_id, label in current
        if profile_id in loaded.profiles
    ]
    return Estate(as_of=as_of, subjects=subjects)
