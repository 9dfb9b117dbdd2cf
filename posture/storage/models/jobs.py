"""Background jobs as the app sees them; the queue (huey) only carries their ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import RunStatus, enum_column


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "run_status"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The worker that last claimed the job, as "host:pid:start-token": when that process is
    # seen to exit, its running jobs are retried or failed at once instead of waiting to go stale.
    claimed_by: Mapped[str | None] = mapped_column(String(300))
    # A worker that stops heartbeating is presumed dead, so its job is retried or failed; this
    # is the backstop for workers no supervisor watches (another host on a shared queue).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
