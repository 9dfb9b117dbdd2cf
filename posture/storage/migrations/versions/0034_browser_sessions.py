"""user_sessions: a browser token (the HttpOnly cookie's) and its one-time handoff code, so a
signed-in session survives a page refresh

Revision ID: 0034_browser_sessions
Revises: 0033_alert_notified
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posture.storage.base import UtcDateTime

revision: str = "0034_browser_sessions"
down_revision: str | None = "0033_alert_notified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("browser_token_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("handoff_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("handoff_expires_at", UtcDateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_user_sessions_browser_token_sha256"), ["browser_token_sha256"]
        )
        batch.create_unique_constraint(op.f("uq_user_sessions_handoff_sha256"), ["handoff_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_constraint(op.f("uq_user_sessions_handoff_sha256"), type_="unique")
        batch.drop_constraint(op.f("uq_user_sessions_browser_token_sha256"), type_="unique")
        batch.drop_column("handoff_expires_at")
        batch.drop_column("handoff_sha256")
        batch.drop_column("browser_token_sha256")
