"""assurance passports: the signed statement issued when a national assessor accepts a
product's assessment, its suspension or revocation, and forces' reliance on it for a deployment;
a product's version, which a passport states

Revision ID: 0028_passports
Revises: 0027_portfolio
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0028_passports"
down_revision: str | None = "0027_portfolio"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("issued", "suspended", "revoked", "superseded")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.add_column("products", sa.Column("version", sa.String(length=64), nullable=True))
    op.create_table(
        "passports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="passport_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.String(length=32), nullable=True),
        sa.Column("status_detail", _json(), nullable=False),
        sa.Column("status_changed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_by_user_id", sa.Integer(), nullable=True),
        _fk("passports", "product_id", "products"),
        _fk("passports", "organisation_id", "organisations"),
        _fk("passports", "assessment_id", "assessments"),
        _fk("passports", "issued_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passports")),
        sa.UniqueConstraint("number", name=op.f("uq_passports_number")),
    )
    for column in ("product_id", "organisation_id", "assessment_id"):
        op.create_index(op.f(f"ix_passports_{column}"), "passports", [column], unique=False)

    op.create_table(
        "passport_reliances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("passport_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(timezone=True), nullable=False),
        _fk("passport_reliances", "deployment_id", "deployments"),
        _fk("passport_reliances", "passport_id", "passports"),
        _fk("passport_reliances", "organisation_id", "organisations"),
        _fk("passport_reliances", "recorded_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passport_reliances")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_passport_reliances_deployment_id")),
    )
    for column in ("passport_id", "organisation_id"):
        op.create_index(
            op.f(f"ix_passport_reliances_{column}"), "passport_reliances", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("passport_reliances")
    op.drop_table("passports")
    # Plain DROP COLUMN: a batch rebuild of `products` would fail the foreign keys that point
    # at it on SQLite.
    op.drop_column("products", "version")
