"""OSCAL profiles resolved against an imported catalogue: one row per catalogue, profile title and
version, holding the control ids the profile selects

Revision ID: 0022_imported_profiles
Revises: 0021_retention_indexes
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0022_imported_profiles"
down_revision: str | None = "0021_retention_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_uuid", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("imported_catalogue_id", sa.Integer(), nullable=False),
        sa.Column(
            "control_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("imported_by_user_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_catalogue_id"],
            ["imported_catalogues.id"],
            name=op.f("fk_imported_profiles_imported_catalogue_id_imported_catalogues"),
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_user_id"],
            ["users.id"],
            name=op.f("fk_imported_profiles_imported_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_profiles")),
        sa.UniqueConstraint(
            "imported_catalogue_id",
            "title",
            "version",
            name=op.f("uq_imported_profiles_imported_catalogue_id_title_version"),
        ),
    )


def downgrade() -> None:
    op.drop_table("imported_profiles")
