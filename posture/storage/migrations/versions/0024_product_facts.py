"""products carry the facts their target profile is derived from; OFFICIAL-SENSITIVE becomes
OFFICIAL with the SENSITIVE caveat; assessors' raises of a product's profile are kept

Revision ID: 0024_product_facts
Revises: 0023_outcome_urns
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0024_product_facts"
down_revision: str | None = "0023_outcome_urns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("sensitive_caveat", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "products",
        sa.Column("police_networks", _json(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "products",
        sa.Column("national_systems", _json(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("products", sa.Column("vetting", sa.String(length=16), nullable=True))
    op.add_column("products", sa.Column("forces_served", sa.Integer(), nullable=True))
    op.add_column("products", sa.Column("records_held", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE products SET max_classification = 'official', sensitive_caveat = true "
        "WHERE max_classification = 'official-sensitive'"
    )
    op.create_table(
        "profile_raises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raised_by_user_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_profile_raises_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_user_id"],
            ["users.id"],
            name=op.f("fk_profile_raises_raised_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_raises")),
        sa.UniqueConstraint(
            "product_id", "framework_id", name=op.f("uq_profile_raises_product_id_framework_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("profile_raises")
    op.execute(
        "UPDATE products SET max_classification = 'official-sensitive' "
        "WHERE max_classification = 'official' AND sensitive_caveat = true"
    )
    # Plain DROP COLUMN: a batch rebuild of `products` would fail the foreign keys that point
    # at it on SQLite.
    for column in (
        "records_held",
        "forces_served",
        "vetting",
        "national_systems",
        "police_networks",
        "sensitive_caveat",
    ):
        op.drop_column("products", column)
