"""procurement

Revision ID: 0006_procurement
Revises: 0005_challenges
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0006_procurement"
down_revision: str | None = "0005_challenges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procurement_frameworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_procurement_frameworks_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_procurement_frameworks_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_frameworks")),
        sa.UniqueConstraint("title", name=op.f("uq_procurement_frameworks_title")),
    )
    with op.batch_alter_table("procurement_frameworks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procurement_frameworks_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "shortlist_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "lot_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "gates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "criteria",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_shortlist_requirements_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_shortlist_requirements_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortlist_requirements")),
    )
    with op.batch_alter_table("shortlist_requirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shortlist_requirements_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "procurement_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "gates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["procurement_frameworks.id"],
            name=op.f("fk_procurement_lots_framework_id_procurement_frameworks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_lots")),
        sa.UniqueConstraint(
            "framework_id", "key", name=op.f("uq_procurement_lots_framework_id_key")
        ),
    )
    with op.batch_alter_table("procurement_lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procurement_lots_framework_id"), ["framework_id"], unique=False
        )

    op.create_table(
        "shortlist_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "inputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "ranking",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_shortlist_versions_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["shortlist_requirements.id"],
            name=op.f("fk_shortlist_versions_requirement_id_shortlist_requirements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortlist_versions")),
        sa.UniqueConstraint(
            "requirement_id", "version", name=op.f("uq_shortlist_versions_requirement_id_version")
        ),
    )
    with op.batch_alter_table("shortlist_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shortlist_versions_requirement_id"), ["requirement_id"], unique=False
        )

    op.create_table(
        "lot_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column(
            "eligibility",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "flagged",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("applied_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_lot_applications_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["procurement_lots.id"],
            name=op.f("fk_lot_applications_lot_id_procurement_lots"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_lot_applications_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_lot_applications_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_applications")),
        sa.UniqueConstraint(
            "lot_id", "product_id", name=op.f("uq_lot_applications_lot_id_product_id")
        ),
    )
    with op.batch_alter_table("lot_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_applications_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lot_applications_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lot_applications_product_id"), ["product_id"], unique=False
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "data_locations",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )
        batch_op.add_column(sa.Column("max_classification", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "certifications",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )
        batch_op.add_column(sa.Column("support_ends", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_of_life", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("api_available", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "connected_networks",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("connected_networks")
        batch_op.drop_column("api_available")
        batch_op.drop_column("end_of_life")
        batch_op.drop_column("support_ends")
        batch_op.drop_column("certifications")
        batch_op.drop_column("max_classification")
        batch_op.drop_column("data_locations")

    with op.batch_alter_table("lot_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_applications_product_id"))
        batch_op.drop_index(batch_op.f("ix_lot_applications_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_lot_applications_lot_id"))

    op.drop_table("lot_applications")
    with op.batch_alter_table("shortlist_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortlist_versions_requirement_id"))

    op.drop_table("shortlist_versions")
    with op.batch_alter_table("procurement_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_lots_framework_id"))

    op.drop_table("procurement_lots")
    with op.batch_alter_table("shortlist_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortlist_requirements_organisation_id"))

    op.drop_table("shortlist_requirements")
    with op.batch_alter_table("procurement_frameworks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_frameworks_organisation_id"))

    op.drop_table("procurement_frameworks")
