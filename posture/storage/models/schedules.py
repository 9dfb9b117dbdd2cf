"""Scheduled work as it ran: one row per schedule and period, and the expiry reminders sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import ScheduleRunStatus, enum_column


class ScheduleRun(Base):
    """The unique (name, period) row is the claim: of two triggers in one period (two workers,
    a worker and `assure schedule run`), only the one that inserts it runs."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("name", "period_key", name="uq_schedule_runs_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[ScheduleRunStatus] = mapped_column(
        enum_column(ScheduleRunStatus, "schedule_run_status")
    )
    # Who set it off: "schedule" (a worker's clock), "cli" or "app".
    trigger: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    summary: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


# The app and `assure schedule list` read each schedule's latest run.
Index("ix_schedule_runs_latest", ScheduleRun.name, ScheduleRun.started_at.desc())


class ExpiryReminder(Base):
    """A reminder sent for one thing's expiry at one threshold (30, 7, 1 days; 0 = expired):
    the unique row makes a second sweep on the same day, or the next day, send it again never."""

    __tablename__ = "expiry_reminders"
    __table_args__ = (
        UniqueConstraint(
            "subject_kind", "subject_id", "expires_on", "days_before", name="uq_expiry_reminders"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32))
    # The row it is about, or a stable text key where the thing has no row of its own.
    subject_id: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
