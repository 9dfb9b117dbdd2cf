"""alerts: when each was turned into notifications, in place of a cursor over alert ids

An id cursor runs past an alert committed after a higher id was read (a long transaction on
PostgreSQL), and a window re-read to catch those stalls behind a burst bigger than one run. A
mark on each alert has neither fault. Alerts the cursor had passed are marked as notified when
they were raised; those after it are left for the next run.

Revision ID: 0033_alert_notified
Revises: 0032_evidence_expiry
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posture.storage.base import UtcDateTime

revision: str = "0033_alert_notified"
down_revision: str | None = "0032_evidence_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_NOTIFIED = sa.text("notified_at IS NULL")


def upgrade() -> None:
    op.add_column("alerts", sa.Column("notified_at", UtcDateTime(timezone=True), nullable=True))
    op.execute(
        """
        UPDATE alerts SET notified_at = raised_at
        WHERE id <= COALESCE(
            (SELECT last_alert_id FROM notification_cursors WHERE name = 'alerts'), 0
        )
        """
    )
    op.create_index(
        "ix_alerts_not_notified",
        "alerts",
        ["id"],
        unique=False,
        postgresql_where=NOT_NOTIFIED,
        sqlite_where=NOT_NOTIFIED,
    )
    op.drop_table("notification_cursors")


def downgrade() -> None:
    op.create_table(
        "notification_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_alert_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_cursors")),
    )
    op.execute(
        """
        INSERT INTO notification_cursors (name, last_alert_id, updated_at)
        SELECT 'alerts', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM alerts
        WHERE notified_at IS NOT NULL
        """
    )
    op.drop_index(
        "ix_alerts_not_notified",
        table_name="alerts",
        postgresql_where=NOT_NOTIFIED,
        sqlite_where=NOT_NOTIFIED,
    )
    # Plain DROP COLUMN: a batch rebuild of `alerts` would fail the foreign keys that point at
    # it on SQLite.
    op.drop_column("alerts", "notified_at")
