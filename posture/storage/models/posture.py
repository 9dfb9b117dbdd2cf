"""Dated posture snapshots: the stored results of a scoring run, for trends and movers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import SubjectKind, enum_column


class PostureSnapshot(Base):
    __tablename__ = "posture_snapshots"
    __table_args__ = (Index("ix_posture_snapshots_subject", "organisation_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_column(SubjectKind, "subject_kind"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(1))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
