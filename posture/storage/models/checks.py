"""Automated check runs and the typed findings they produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column

from checks.catalogue import spec_for
from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import RunStatus, Severity, enum_column


class CheckKindType(TypeDecorator[str]):
    """A kind of check, stored as a plain string and validated against the check catalogue when
    written: a database constraint would need a migration for every new check. Rows are read as
    stored, so a run of a kind no longer in the catalogue still loads."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(spec_for(value).kind)


class CheckRun(Base):
    __tablename__ = "check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(CheckKindType())
    target: Mapped[str] = mapped_column(String(2048))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "run_status"))
    score: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The soonest expiry of the certificates a completed run saw (TLS, certificate file), for the
    # expiry sweep; None for other kinds and for runs recorded before it was kept.
    certificate_not_after: Mapped[datetime | None] = mapped_column(UtcDateTime)


# Every reader ranks each subject's runs of a kind newest first (posture.check_runs
# .latest_run_ids): the index holds them in that order with the status and score, so scoring and
# the dashboards rank runs from the index alone, never reading a row with its stored result.
Index(
    "ix_check_runs_latest",
    CheckRun.organisation_id,
    CheckRun.product_id,
    CheckRun.kind,
    CheckRun.finished_at.desc(),
    CheckRun.id.desc(),
    CheckRun.status,
    CheckRun.score,
)


class Finding(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_run_id: Mapped[int] = mapped_column(
        ForeignKey("check_runs.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "severity"))
    title: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    advice: Mapped[str] = mapped_column(Text, default="")
    outcome_ids: Mapped[list[str]] = mapped_column(JsonDocument, default=list)


class CheckRunMilestone(Base):
    """A migration milestone's status as one run judged it, copied out of the run's result when
    the run is recorded, so views of the estate read statuses without decoding results."""

    __tablename__ = "check_run_milestones"

    check_run_id: Mapped[int] = mapped_column(
        ForeignKey("check_runs.id", ondelete="CASCADE"), primary_key=True
    )
    milestone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
