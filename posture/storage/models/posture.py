"""Dated posture snapshots: the stored results of a scoring run, for trends and movers.

What the dashboards read is in columns and a side table of objective scores, so a page reads
the latest run with plain selects instead of decoding one JSON document per subject.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import SubjectKind, enum_column


class PostureSnapshot(Base):
    __tablename__ = "posture_snapshots"
    __table_args__ = (
        Index("ix_posture_snapshots_subject", "organisation_id", "product_id"),
        # Every read picks one run and one kind of subject; the index also serves "latest run".
        Index("ix_posture_snapshots_taken_at_kind", "taken_at", "subject_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_column(SubjectKind, "subject_kind"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(1))
    # No foreign key: a snapshot is history and records which assessment was scored, as it was.
    assessment_id: Mapped[int | None] = mapped_column(Integer)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    capped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    contradicted: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    not_applicable: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    gaps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Anything a run records beyond the columns; since 0016 the scoring run writes nothing here.
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class PostureSnapshotObjective(Base):
    """One objective's score in one snapshot; no score when nothing under it was applicable."""

    __tablename__ = "posture_snapshot_objectives"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("posture_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    objective_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
