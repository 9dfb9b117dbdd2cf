"""Endpoints a product registers for continuous monitoring, and the alerts their changes raise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime


class MonitoredEndpoint(Base):
    __tablename__ = "monitored_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(300))
    interval_days: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint(
            "relayed_from_id", "organisation_id", name="uq_alerts_relayed_from_organisation"
        ),
        # The alerts not yet turned into notifications: few at any time, read every run.
        Index(
            "ix_alerts_not_notified",
            "id",
            postgresql_where=text("notified_at IS NULL"),
            sqlite_where=text("notified_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("monitored_endpoints.id"))
    check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    advice: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A force's copy of the product's alert it deploys (posture.portfolio.blast_radius): seen and
    # acknowledged by that force alone.
    relayed_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", name="fk_alerts_relayed_from_id")
    )
    # When notifications were planned for it (posture.notify.enqueue); NULL until then, so an
    # alert committed late, or after a burst, is still found: no cursor to run past it.
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
