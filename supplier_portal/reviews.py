"""Assessors' decisions on submitted answers: accept, query or reject each one. Accepted answers
become independently assessed evidence; the queue they are picked from is
supplier_portal.review_queue.

A decision is made once. Decisions on one assessment are serialised by a lock on it, the answer
is written only while it is still undecided (a second decision on it is refused, naming that it
was already decided, rather than overwriting the first), and the assessment's status is worked
out after the write in the same transaction, so parallel decisions never lose one another and an
assessment whose answers are all accepted always ends ACCEPTED.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.passport.issue import NoPassport, issue_passport
from posture.storage.models import Answer, Assessment
from posture.storage.models.enums import AssessmentStatus, Provenance
from pq_crypto.attestation import AttestationKeys
from supplier_portal.assessments import lock_assessment
from supplier_portal.review_queue import (
    REVIEWABLE,
    QueueItem,
    QueueQuery,
    ReviewPage,
    review_queue,
)

__all__ = [
    "AlreadyDecided",
    "QueueItem",
    "QueueQuery",
    "ReviewPage",
    "queries_for_supplier",
    "review_answer",
    "review_queue",
]

Decision = Literal["accept", "query", "reject"]
OUTCOME_OF = {"accept": "accepted", "query": "queried", "reject": "rejected"}
MIN_MESSAGE, MAX_MESSAGE = 10, 4_000


class AlreadyDecided(ValidationFailed):
    """Another decision on this answer was recorded first; nothing was changed."""


def _validated(decision: str, message: str) -> str:
    if decision not in OUTCOME_OF:
        raise ValidationFailed("decision: accept, query or reject")
    message = message.strip()
    if decision in ("query", "reject") and len(message) < MIN_MESSAGE:
        raise ValidationFailed(
            f"message: tell the supplier what to fix ({MIN_MESSAGE} characters or more)"
        )
    if len(message) > MAX_MESSAGE:
        raise ValidationFailed(f"message: {MAX_MESSAGE:,} characters at most")
    return message


def review_answer(
    session: Session,
    principal: Principal,
    answer_id: int,
    decision: Decision,
    message: str = "",
    keys: AttestationKeys | None = None,
) -> Answer:
    """Record one decision. With the platform's signing keys, the decision that accepts a
    product's assessment in full also issues its passport, in the same transaction; without them
    (tests of the review rules alone) none is issued."""
    found = session.execute(
        select(Answer.assessment_id, Answer.outcome_id, Assessment.organisation_id)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(Answer.id == answer_id)
    ).first()
    if found is None:
        visible_organisations(principal, "assessment.review")
        raise NotFound("answer not found")
    assessment_id, outcome_id, organisation_id = found
    require(principal, "assessment.review", organisation_id, "answer")
    if organisation_id in principal.organisation_ids():
        raise ValidationFailed("assessors cannot review their own organisation's answers")
    message = _validated(decision, message)

    # Everything below is read under the assessment's lock, so it is still true at commit.
    lock_assessment(session, assessment_id)
    status, decided = session.execute(
        select(Assessment.status, Answer.review_status)
        .join(Answer, Answer.assessment_id == Assessment.id)
        .where(Answer.id == answer_id)
    ).one()
    if decided is not None:
        raise AlreadyDecided(
            f"this answer was already {decided} by another decision; reload the queue"
        )
    if status not in REVIEWABLE:
        raise ValidationFailed("only submitted assessments are reviewed")
    now = utcnow()
    values: dict[str, object] = {
        "review_status": OUTCOME_OF[decision],
        "review_message": message,
        "reviewed_by_user_id": principal.user_id,
        "reviewed_at": now,
    }
    if decision == "accept":
        values |= {"provenance": Provenance.INDEPENDENT, "answered_at": now}
    written = session.execute(
        update(Answer)
        .where(Answer.id == answer_id, Answer.review_status.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if written.rowcount != 1:  # only a writer that bypassed the lock could get here
        raise AlreadyDecided("this answer was already decided; reload the queue")
    not_accepted = session.scalar(
        select(func.count())
        .select_from(Answer)
        .where(
            Answer.assessment_id == assessment_id,
            or_(Answer.review_status.is_(None), Answer.review_status != "accepted"),
        )
    )
    session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id, Assessment.status.in_(REVIEWABLE))
        .values(
            status=AssessmentStatus.ACCEPTED if not not_accepted else AssessmentStatus.UNDER_REVIEW
        )
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        actor_of(principal),
        f"review.{OUTCOME_OF[decision]}",
        "answer",
        answer_id,
        {"assessment_id": assessment_id, "outcome_id": outcome_id, "message": message},
        organisation_id=organisation_id,
    )
    answer = session.get(Answer, answer_id, populate_existing=True)
    assessment = session.get(Assessment, assessment_id, populate_existing=True)
    if (
        keys is not None
        and assessment is not None
        and assessment.status == AssessmentStatus.ACCEPTED
        and assessment.product_id is not None
    ):
        _issue(session, principal, keys, assessment_id, organisation_id)
    assert answer is not None
    return answer


def _issue(
    session: Session,
    principal: Principal,
    keys: AttestationKeys,
    assessment_id: int,
    organisation_id: int,
) -> None:
    """Issue the passport; when the assessment cannot be stated in one, the acceptance stands
    and the audit trail says why no passport was issued."""
    try:
        issue_passport(session, actor_of(principal), keys, assessment_id)
    except NoPassport as exc:
        record(
            session,
            actor_of(principal),
            "passport.withheld",
            "assessment",
            assessment_id,
            {"assessment_id": assessment_id, "because": str(exc)},
            organisation_id=organisation_id,
        )


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
