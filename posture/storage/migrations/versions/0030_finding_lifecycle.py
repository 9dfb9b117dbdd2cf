"""the findings lifecycle

Revision ID: 0030_finding_lifecycle
Revises: 0029_schedule_runs
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posture.storage.base import UtcDateTime

revision: str = "0030_finding_lifecycle"
down_revision: str | None = "0029_schedule_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "tracked_findings"
STATUSES = ("open", "in_remediation", "disputed", "risk_accepted", "false_positive", "resolved")
SEVERITIES = ("info", "low", "medium", "high", "critical")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{TABLE}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("severity", _enum(SEVERITIES, "tracked_finding_severity"), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", _enum(STATUSES, "finding_status"), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_check_run_id", sa.Integer(), nullable=False),
        sa.Column("last_check_run_id", sa.Integer(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_check_run_id", sa.Integer(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("due_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("breach_alerted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("acceptance_id", sa.Integer(), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("disputed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("disputed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("disputed_from", _enum(STATUSES, "finding_disputed_from"), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("organisation_id", "organisations"),
        _fk("product_id", "products"),
        _fk("first_check_run_id", "check_runs"),
        _fk("last_check_run_id", "check_runs"),
        _fk("resolved_check_run_id", "check_runs"),
        _fk("owner_user_id", "users"),
        _fk("acceptance_id", "risk_acceptances"),
        _fk("disputed_by_user_id", "users"),
        _fk("decided_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("organisation_id", "key", name=op.f(f"uq_{TABLE}_organisation_id_key")),
    )
    dated = ["status", "severity", "first_seen_at", "due_at"]
    op.create_index(
        "ix_tracked_findings_run_scope", TABLE, ["organisation_id", "product_id", "kind"]
    )
    op.create_index("ix_tracked_findings_product_status", TABLE, ["product_id", *dated])
    op.create_index("ix_tracked_findings_organisation_status", TABLE, ["organisation_id", *dated])
    op.create_index("ix_tracked_findings_status_due", TABLE, ["status", "due_at"])
    op.create_index("ix_tracked_findings_acceptance_id", TABLE, ["acceptance_id"])


def downgrade() -> None:
    op.drop_table(TABLE)
