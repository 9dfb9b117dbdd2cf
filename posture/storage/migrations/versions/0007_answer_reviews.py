"""answer reviews

Revision ID: 0007_reviews
Revises: 0006_procurement
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posture.storage.base import UtcDateTime

revision: str = "0007_reviews"
down_revision: str | None = "0006_procurement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("review_message", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_answers_reviewed_by_user_id_users"),
            "users",
            ["reviewed_by_user_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_answers_reviewed_by_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_user_id")
        batch_op.drop_column("review_message")
        batch_op.drop_column("review_status")
