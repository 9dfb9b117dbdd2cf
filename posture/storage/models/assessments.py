"""Assessments of an organisation or a product, their per-outcome answers and evidence."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from frameworks.urns import framework_urn, outcome_urn, version_key
from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, OptionalJsonDocument, UtcDateTime
from posture.storage.models.enums import AssessmentStatus, Provenance, enum_column
from posture.storage.models.frameworks import FrameworkVersion


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # NULL when the organisation itself is the subject (a force's own posture).
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    profile_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, "assessment_status")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Raised by database triggers on every insert, update or delete of this assessment's answers
    # (migration 0018), whatever writes them, so a copy of the answers made at one revision is
    # known to be current while the revision is unchanged. Never written by the application.
    answers_revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Many-to-one: loaded from the identity map once a version has been read, so a page of
    # assessments costs one query per framework version, not one per row.
    framework_version: Mapped[FrameworkVersion] = relationship(viewonly=True)

    @property
    def framework(self) -> str:
        """The catalogue id of the framework version assessed against: `ncsc-caf-4.0`."""
        return version_key(self.framework_version.framework_id, self.framework_version.version)

    @property
    def framework_urn(self) -> str:
        return framework_urn(self.framework_version.framework_id, self.framework_version.version)


class Answer(Base):
    """One outcome's answer: which of its indicators hold, with provenance and age."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "outcome_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    # The label shown; `outcome_urn` is what the answer refers to (labels collide across
    # catalogues: PTSbD and the CAF both have an A1.a). Set from the assessment's framework.
    outcome_id: Mapped[str] = mapped_column(String(32))
    outcome_urn: Mapped[str] = mapped_column(String(200), server_default="")
    indicators_met: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    not_applicable: Mapped[bool] = mapped_column(default=False)
    justification: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    provenance: Mapped[Provenance] = mapped_column(enum_column(Provenance, "provenance"))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # An assessor's decision: accepted, queried (message back to the supplier) or rejected.
    review_status: Mapped[str | None] = mapped_column(String(16))
    review_message: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set while the answer is only offered from another catalogue's answers (frameworks/
    # inference.py): {"assessment_id", "sources": [{"urn", "label"}]}. Cleared when a person saves
    # the answer; an assessment holding one cannot be submitted.
    inferred_from: Mapped[dict[str, Any] | None] = mapped_column(OptionalJsonDocument)


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"))
    check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    provenance: Mapped[Provenance] = mapped_column(enum_column(Provenance, "provenance"))
    storage_key: Mapped[str] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The last day the document holds (a penetration test report, a certificate of insurance),
    # when the supplier gives one: the daily sweep reminds before it passes.
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)


class AnswerEncoding(Base):
    """An assessment's counted answers as the scoring engine reads them, made at one revision of
    its answers under one framework layout (posture/scoring/answer_cache.py)."""

    __tablename__ = "answer_encodings"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    layout: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


@event.listens_for(Answer, "before_insert")
def _answer_names_its_outcome_by_urn(mapper: Any, connection: Connection, answer: Answer) -> None:
    """The URN follows from the assessment's framework version and the label, so it is derived
    here for every answer the ORM writes; one given that disagrees is refused. (Bulk writers that
    bypass the ORM, such as the demo estate, make it with the same function.)"""
    row = connection.execute(
        select(FrameworkVersion.framework_id, FrameworkVersion.version)
        .join(Assessment, Assessment.framework_version_id == FrameworkVersion.id)
        .where(Assessment.id == answer.assessment_id)
    ).first()
    if row is None:
        raise ValueError(
            f"answer to {answer.outcome_id}: assessment {answer.assessment_id} unknown"
        )
    derived = outcome_urn(row[0], row[1], answer.outcome_id)
    if answer.outcome_urn and answer.outcome_urn != derived:
        raise ValueError(
            f"answer to {answer.outcome_id}: URN {answer.outcome_urn} is not {derived}"
        )
    answer.outcome_urn = derived


@event.listens_for(Answer, "before_update")
def _answer_keeps_its_outcome(mapper: Any, connection: Connection, answer: Answer) -> None:
    """An answer never moves to another outcome or assessment, so its URN never goes stale."""
    state = inspect(answer)
    moved = [
        name
        for name in ("assessment_id", "outcome_id", "outcome_urn")
        if state.attrs[name].history.has_changes()
    ]
    if moved:
        raise ValueError(f"answer {answer.id}: {', '.join(moved)} cannot change; answer anew")
