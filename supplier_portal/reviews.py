"""The assessors' review queue: accept, query or reject each submitted answer. Accepted answers
become independently assessed evidence; contradicted claims come first in the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import SubjectFilter, load_estate
from posture.scoring.tables import framework_tables
from posture.storage.models import Answer, Assessment, Organisation, Product
from posture.storage.models.enums import AssessmentStatus, Provenance

Decision = Literal["accept", "query", "reject"]
REVIEWABLE = (AssessmentStatus.SUBMITTED, AssessmentStatus.UNDER_REVIEW)


@dataclass(frozen=True)
class QueueItem:
    answer_id: int
    assessment_id: int
    subject: str
    outcome_id: str
    claimed: str
    contradicted: bool
    submitted_at: str


def _contradicted(session: Session, assessment: Assessment, today: date) -> dict[str, str]:
    """Outcome -> claimed level, for the outcomes a check contradicts in this assessment."""
    loaded = default_framework()
    subject = (
        SubjectFilter.product(assessment.product_id)
        if assessment.product_id
        else SubjectFilter.organisation(assessment.organisation_id)
    )
    estate = load_estate(session, loaded, today, subject)
    estate.subjects[:] = [s for s in estate.subjects if s.subject.assessment_id == assessment.id]
    if not estate.subjects:
        return {}
    tables = framework_tables(loaded)
    rows = encode(estate, tables)
    scores = score_arrays(rows, tables)
    found = {}
    for index in range(len(rows)):
        if scores.row_contradicted[index]:
            outcome = tables.outcome_ids[rows.outcome[index]]
            found[outcome] = ["not achieved", "partially achieved", "achieved"][
                int(scores.row_claimed[index])
            ]
    return found


def review_queue(session: Session, principal: Principal, today: date) -> list[QueueItem]:
    scope = visible_organisations(principal, "assessment.review")
    query = select(Assessment).where(Assessment.status.in_(REVIEWABLE))
    if scope is not None:
        query = query.where(Assessment.organisation_id.in_(scope))
    items = []
    for assessment in session.scalars(query.order_by(Assessment.submitted_at)):
        label = (
            session.get(Product, assessment.product_id).name
            if assessment.product_id
            else session.get(Organisation, assessment.organisation_id).name
        )
        contradicted = _contradicted(session, assessment, today)
        for answer in session.scalars(
            select(Answer)
            .where(Answer.assessment_id == assessment.id, Answer.review_status.is_(None))
            .order_by(Answer.outcome_id)
        ):
            items.append(
                QueueItem(
                    answer.id,
                    assessment.id,
                    label,
                    answer.outcome_id,
                    contradicted.get(answer.outcome_id, ""),
                    answer.outcome_id in contradicted,
                    assessment.submitted_at.isoformat() if assessment.submitted_at else "",
                )
            )
    # Contradicted claims first; otherwise oldest submissions first, then outcome order.
    return sorted(items, key=lambda i: (not i.contradicted, i.submitted_at, i.outcome_id))


def review_answer(
    session: Session, principal: Principal, answer_id: int, decision: Decision, message: str = ""
) -> Answer:
    answer = session.get(Answer, answer_id)
    assessment = session.get(Assessment, answer.assessment_id) if answer else None
    if answer is None or assessment is None:
        visible_organisations(principal, "assessment.review")
        raise NotFound("answer not found")
    require(principal, "assessment.review", assessment.organisation_id, "answer")
    if principal.organisation_ids() & {assessment.organisation_id}:
        raise ValidationFailed("assessors cannot review their own organisation's answers")
    if assessment.status not in REVIEWABLE:
        raise ValidationFailed("only submitted assessments are reviewed")
    if decision not in ("accept", "query", "reject"):
        raise ValidationFailed("decision: accept, query or reject")
    if decision in ("query", "reject") and len(message.strip()) < 10:
        raise ValidationFailed("message: tell the supplier what to fix (10 characters or more)")
    answer.review_status = {"accept": "accepted", "query": "queried", "reject": "rejected"}[
        decision
    ]
    answer.review_message = message.strip()
    answer.reviewed_by_user_id, answer.reviewed_at = principal.user_id, utcnow()
    if decision == "accept":
        answer.provenance = Provenance.INDEPENDENT
        answer.answered_at = utcnow()
    assessment.status = AssessmentStatus.UNDER_REVIEW
    remaining = session.scalars(
        select(Answer.review_status).where(Answer.assessment_id == assessment.id)
    ).all()
    if all(status == "accepted" for status in remaining):
        assessment.status = AssessmentStatus.ACCEPTED
    record(
        session,
        actor_of(principal),
        f"review.{answer.review_status}",
        "answer",
        answer.id,
        {
            "assessment_id": assessment.id,
            "outcome_id": answer.outcome_id,
            "message": answer.review_message,
        },
        organisation_id=assessment.organisation_id,
    )
    return answer


def queries_for_supplier(session: Session, principal: Principal) -> list[Answer]:
    """Answers an assessor queried or rejected, for the supplier to act on."""
    scope = visible_organisations(principal, "assessment.read")
    query = (
        select(Answer)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(Answer.review_status.in_(("queried", "rejected")))
    )
    if scope is not None:
        query = query.where(Assessment.organisation_id.in_(scope))
    return list(session.scalars(query.order_by(Answer.reviewed_at)))
