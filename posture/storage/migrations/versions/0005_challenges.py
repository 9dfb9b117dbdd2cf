"""challenges

Revision ID: 0005_challenges
Revises: 0004_pq_challenges
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0005_challenges"
down_revision: str | None = "0004_pq_challenges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem_statement", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("opens_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("quality_threshold", sa.Float(), nullable=False),
        sa.Column("assessors_per_entry", sa.Integer(), nullable=False),
        sa.Column("min_posture_band", sa.String(length=1), nullable=True),
        sa.Column(
            "rubric",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "eligibility",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "results",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("results_published_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_challenges_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenges_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenges_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "challenge_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column(
            "eligibility_answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("posture_band", sa.String(length=1), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_entries_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_challenge_entries_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_entries_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_challenge_entries_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_entries")),
        sa.UniqueConstraint(
            "challenge_id",
            "organisation_id",
            "title",
            name=op.f("uq_challenge_entries_challenge_id_organisation_id_title"),
        ),
    )
    with op.batch_alter_table("challenge_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_entries_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_challenge_entries_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "judge_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("judge_user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_judge_conflicts_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["judge_user_id"], ["users.id"], name=op.f("fk_judge_conflicts_judge_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_judge_conflicts_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_conflicts")),
        sa.UniqueConstraint(
            "challenge_id",
            "judge_user_id",
            "organisation_id",
            name=op.f("uq_judge_conflicts_challenge_id_judge_user_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("judge_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_judge_conflicts_challenge_id"), ["challenge_id"], unique=False
        )

    op.create_table(
        "challenge_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["challenge_entries.id"],
            name=op.f("fk_challenge_attachments_entry_id_challenge_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_attachments")),
    )
    with op.batch_alter_table("challenge_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_attachments_entry_id"), ["entry_id"], unique=False
        )

    op.create_table(
        "judge_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("judge_user_id", sa.Integer(), nullable=False),
        sa.Column("allocated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("in_scope", sa.Boolean(), nullable=True),
        sa.Column("fund", sa.Boolean(), nullable=True),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("excluded_reason", sa.Text(), nullable=True),
        sa.Column("excluded_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_judge_allocations_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["challenge_entries.id"],
            name=op.f("fk_judge_allocations_entry_id_challenge_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["excluded_by_user_id"],
            ["users.id"],
            name=op.f("fk_judge_allocations_excluded_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["judge_user_id"], ["users.id"], name=op.f("fk_judge_allocations_judge_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_allocations")),
        sa.UniqueConstraint(
            "entry_id", "judge_user_id", name=op.f("uq_judge_allocations_entry_id_judge_user_id")
        ),
    )
    with op.batch_alter_table("judge_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_judge_allocations_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_judge_allocations_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_judge_allocations_judge_user_id"), ["judge_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("judge_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judge_allocations_judge_user_id"))
        batch_op.drop_index(batch_op.f("ix_judge_allocations_entry_id"))
        batch_op.drop_index(batch_op.f("ix_judge_allocations_challenge_id"))

    op.drop_table("judge_allocations")
    with op.batch_alter_table("challenge_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_attachments_entry_id"))

    op.drop_table("challenge_attachments")
    with op.batch_alter_table("judge_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judge_conflicts_challenge_id"))

    op.drop_table("judge_conflicts")
    with op.batch_alter_table("challenge_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_entries_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_entries_challenge_id"))

    op.drop_table("challenge_entries")
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenges_organisation_id"))

    op.drop_table("challenges")
