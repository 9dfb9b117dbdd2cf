"""Assessments of an organisation or a product, their per-outcome answers and evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import AssessmentStatus, Provenance, enum_column


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


class Answer(Base):
    """One outcome's answer: which of its indicators hold, with provenance and age."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "outcome_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    outcome_id: Mapped[str] = mapped_column(String(32))
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
