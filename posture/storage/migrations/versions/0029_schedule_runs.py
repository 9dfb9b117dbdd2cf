"""scheduled runs, one row per schedule and period (the claim that makes a second trigger in
the period do nothing), the expiry reminders sent, and the soonest certificate expiry a check
run saw

Revision ID: 0029_schedule_runs
Revises: 0028_passports
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0029_schedule_runs"
down_revision: str | None = "0028_passports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("running", "succeeded", "failed")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "check_runs",
        sa.Column("certificate_not_after", UtcDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("period_key", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="schedule_run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("summary", _json(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
        sa.UniqueConstraint("name", "period_key", name=op.f("uq_schedule_runs_period")),
    )
    op.create_index(
        "ix_schedule_runs_latest",
        "schedule_runs",
        ["name", sa.text("started_at DESC")],
        unique=False,
    )
    op.create_table(
        "expiry_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_expiry_reminders_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_reminders")),
        sa.UniqueConstraint(
            "subject_kind",
            "subject_id",
            "expires_on",
            "days_before",
            name=op.f("uq_expiry_reminders"),
        ),
    )


def downgrade() -> None:
    op.drop_table("expiry_reminders")
    op.drop_index("ix_schedule_runs_latest", table_name="schedule_runs")
    op.drop_table("schedule_runs")
    # Plain DROP COLUMN: a batch rebuild of `check_runs` would fail the foreign keys that point
    # at it on SQLite.
    op.drop_column("check_runs", "certificate_not_after")
