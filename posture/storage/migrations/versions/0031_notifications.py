"""notifications

Revision ID: 0031_notifications
Revises: 0030_finding_lifecycle
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0031_notifications"
down_revision: str | None = "0030_finding_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("email", "digest", "webhook")
STATUSES = ("pending", "delivered", "dead")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("severity_modes", _json(), nullable=False),
        sa.Column("muted_categories", _json(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        _fk("notification_preferences", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint("user_id", name=op.f("uq_notification_preferences_user_id")),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("severities", _json(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", UtcDateTime(timezone=True), nullable=True),
        _fk("webhook_endpoints", "organisation_id", "organisations"),
        _fk("webhook_endpoints", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    _index("webhook_endpoints", "organisation_id")
    op.create_table(
        "notification_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_alert_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_cursors")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=96), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("channel", _enum(CHANNELS, "delivery_channel"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("digest_day", sa.Date(), nullable=True),
        sa.Column("status", _enum(STATUSES, "delivery_status"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", UtcDateTime(timezone=True), nullable=True),
        _fk("notification_deliveries", "alert_id", "alerts"),
        _fk("notification_deliveries", "organisation_id", "organisations"),
        _fk("notification_deliveries", "user_id", "users", "CASCADE"),
        _fk("notification_deliveries", "endpoint_id", "webhook_endpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_deliveries_dedupe_key")),
    )
    _index(
        "notification_deliveries",
        "alert_id",
        "organisation_id",
        "user_id",
        "endpoint_id",
        "status",
        "next_attempt_at",
    )
    op.create_table(
        "digest_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        _fk("digest_entries", "user_id", "users", "CASCADE"),
        _fk("digest_entries", "alert_id", "alerts"),
        _fk("digest_entries", "delivery_id", "notification_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_entries")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_digest_entries_dedupe_key")),
    )
    _index("digest_entries", "user_id", "alert_id", "day")


def downgrade() -> None:
    op.drop_table("digest_entries")
    op.drop_table("notification_deliveries")
    op.drop_table("notification_cursors")
    op.drop_table("webhook_endpoints")
    op.drop_table("notification_preferences")
