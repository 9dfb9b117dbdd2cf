"""evidence: the last day a document holds, for the daily expiry reminders

Revision ID: 0032_evidence_expiry
Revises: 0031_notifications
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_evidence_expiry"
down_revision: str | None = "0031_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evidence", sa.Column("expires_on", sa.Date(), nullable=True))
    op.create_index(op.f("ix_evidence_expires_on"), "evidence", ["expires_on"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_expires_on"), table_name="evidence")
    # Plain DROP COLUMN: a batch rebuild of `evidence` would fail the foreign keys that point
    # at it on SQLite.
    op.drop_column("evidence", "expires_on")
