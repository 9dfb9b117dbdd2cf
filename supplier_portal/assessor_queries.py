"""The assessor's queries and rejections a supplier has to act on, each naming the product (or
the organisation) and the assessment version it was made on, so a page can show it next to the
answer it concerns in the draft that will answer it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal, visible_organisations
from posture.storage.models import Answer, Assessment, FrameworkVersion, Organisation, Product
from posture.storage.models.enums import AssessmentStatus

# What an assessor's decision is called in a sentence to the supplier.
SAID = {"queried": "queried", "rejected": "rejected"}


@dataclass(frozen=True)
class AssessorQuery:
    answer_id: int
    assessment_id: int
    organisation_id: int
    product_id: int | None
    subject: str  # the product's name, or the organisation's for its own assessment
    framework_id: str
    version: int
    outcome_id: str
    decision: str  # "queried" or "rejected"
    message: str  # the assessor's words: plain text to the page
    reviewed_at: datetime | None

    def words(self) -> str:
        """ "The assessor queried A1.a on Vault (version 2): ..." (user text: escape it)."""
        return (
            f"The assessor {SAID[self.decision]} {self.outcome_id} on {self.subject} "
            f"(version {self.version}): {self.message}"
        )

    def concerns(self, draft: Assessment, framework_id: str, outcome_id: str) -> bool:
        """Whether the query is about this outcome of the draft's subject and framework."""
        return (
            self.organisation_id == draft.organisation_id
            and self.product_id == draft.product_id
            and self.framework_id == framework_id
            and self.outcome_id == outcome_id
        )


def open_queries(session: Session, principal: Principal) -> list[AssessorQuery]:
    """Queried or rejected answers on assessments not yet superseded (a newer submission
    answers them), oldest decision first, within the principal's reach."""
    scope = visible_organisations(principal, "assessment.read")
    query = (
        select(Answer, Assessment, FrameworkVersion.framework_id, Product.name, Organisation.name)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .join(FrameworkVersion, FrameworkVersion.id == Assessment.framework_version_id)
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .outerjoin(Product, Product.id == Assessment.product_id)
        .where(
            Answer.review_status.in_(tuple(SAID)),
            Assessment.status != AssessmentStatus.SUPERSEDED,
        )
        .order_by(Answer.reviewed_at, Answer.id)
    )
    if scope is not None:
        query = query.where(Assessment.organisation_id.in_(scope))
    return [
        AssessorQuery(
            answer_id=answer.id,
            assessment_id=assessment.id,
            organisation_id=assessment.organisation_id,
            product_id=assessment.product_id,
            subject=product_name if product_name is not None else organisation_name,
            framework_id=framework_id,
            version=assessment.version,
            outcome_id=answer.outcome_id,
            decision=str(answer.review_status),
            message=answer.review_message,
            reviewed_at=answer.reviewed_at,
        )
        for answer, assessment, framework_id, product_name, organisation_name in session.execute(
            query
        )
    ]
