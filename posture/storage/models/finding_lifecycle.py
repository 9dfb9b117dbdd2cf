"""Findings tracked across check runs: one row per stable key (kind, target, code, subject) of a
product or organisation, with the lifecycle a supplier and an assessor move it through."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posture.storage.base import Base, UtcDateTime
from posture.storage.models.enums import Severity, enum_column


class FindingStatus(StrEnum):
    """Where a tracked finding stands. Open, in remediation and disputed all count as open."""

    OPEN = "open"
    IN_REMEDIATION = "in_remediation"
    DISPUTED = "disputed"
    RISK_ACCEPTED = "risk_accepted"
    FALSE_POSITIVE = "false_positive"
    RESOLVED = "resolved"


# What counts as open on every list and dashboard: a dispute is not a fix until it is upheld.
OPEN_STATUSES = (FindingStatus.OPEN, FindingStatus.IN_REMEDIATION, FindingStatus.DISPUTED)
# What a later run that no longer shows the finding closes.
ACTIVE_STATUSES = (*OPEN_STATUSES, FindingStatus.RISK_ACCEPTED)


class TrackedFinding(Base):
    __tablename__ = "tracked_findings"
    # The key digests the product (or organisation) with the rest, so it is unique per
    # organisation even where product_id is NULL (NULLs never collide in a unique index).
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(2048))
    subject: Mapped[str] = mapped_column(String(512))
    code: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "tracked_finding_severity"))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[FindingStatus] = mapped_column(enum_column(FindingStatus, "finding_status"))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_check_run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id"))
    last_check_run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the SLA breach alert was raised for the current due date (cleared with a new one).
    breach_alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acceptance_id: Mapped[int | None] = mapped_column(ForeignKey("risk_acceptances.id"))
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    disputed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disputed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The status a rejected dispute returns to.
    disputed_from: Mapped[FindingStatus | None] = mapped_column(
        enum_column(FindingStatus, "finding_disputed_from")
    )
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Bumped by every change a person makes, so two racing changes cannot both apply.
    version: Mapped[int] = mapped_column(Integer, default=1)


# A run's own findings: the tracker reads a product's findings of one kind at once (the target,
# up to 2 KB, stays out of the index: PostgreSQL bounds an index entry's size).
Index(
    "ix_tracked_findings_run_scope",
    TrackedFinding.organisation_id,
    TrackedFinding.product_id,
    TrackedFinding.kind,
)
# Open findings of a product, and the dashboard's counts grouped by status and severity with the
# dates the age buckets and breaches read, from the index alone.
Index(
    "ix_tracked_findings_product_status",
    TrackedFinding.product_id,
    TrackedFinding.status,
    TrackedFinding.severity,
    TrackedFinding.first_seen_at,
    TrackedFinding.due_at,
)
Index(
    "ix_tracked_findings_organisation_status",
    TrackedFinding.organisation_id,
    TrackedFinding.status,
    TrackedFinding.severity,
    TrackedFinding.first_seen_at,
    TrackedFinding.due_at,
)
# The daily sweeps: breaches not yet alerted, and acceptances that may have ended.
Index("ix_tracked_findings_status_due", TrackedFinding.status, TrackedFinding.due_at)
Index("ix_tracked_findings_acceptance_id", TrackedFinding.acceptance_id)
