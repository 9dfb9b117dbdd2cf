"""PoliceTech innovation challenges: calls, entries, judges, blind scores and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime


class Challenge(Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    problem_statement: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(32))
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # draft -> published -> results_published
    status: Mapped[str] = mapped_column(String(32), default="draft")
    quality_threshold: Mapped[float] = mapped_column(Float)
    assessors_per_entry: Mapped[int] = mapped_column(Integer)
    min_posture_band: Mapped[str | None] = mapped_column(String(1))
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    results: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    results_published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChallengeEntry(Base):
    __tablename__ = "challenge_entries"
    __table_args__ = (UniqueConstraint("challenge_id", "organisation_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    title: Mapped[str] = mapped_column(String(200))
    proposal: Mapped[str] = mapped_column(Text, default="")
    eligibility_answers: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="draft")
    posture_band: Mapped[str | None] = mapped_column(String(1))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChallengeAttachment(Base):
    __tablename__ = "challenge_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("challenge_entries.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class JudgeConflict(Base):
    __tablename__ = "judge_conflicts"
    __table_args__ = (UniqueConstraint("challenge_id", "judge_user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    judge_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class JudgeAllocation(Base):
    __tablename__ = "judge_allocations"
    __table_args__ = (UniqueConstraint("entry_id", "judge_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("challenge_entries.id"), index=True)
    judge_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    allocated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    in_scope: Mapped[bool | None] = mapped_column(Boolean)
    fund: Mapped[bool | None] = mapped_column(Boolean)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    excluded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
