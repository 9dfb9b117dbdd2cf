"""identity_epoch: the one-row counter that invalidates every API process's token cache

Revision ID: 0015_identity_epoch
Revises: 0014_check_kind_string
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_identity_epoch"
down_revision: str | None = "0014_check_kind_string"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "identity_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_epoch"),
    )
    # The row exists from the start, so bumping it is always one UPDATE.
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("identity_epoch")
