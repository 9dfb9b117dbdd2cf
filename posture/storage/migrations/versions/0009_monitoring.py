"""monitoring

Revision ID: 0009_monitoring
Revises: 0008_org_profile
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0009_monitoring"
down_revision: str | None = "0008_org_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitored_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("next_due_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_check_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["last_check_run_id"],
            ["check_runs.id"],
            name=op.f("fk_monitored_endpoints_last_check_run_id_check_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_monitored_endpoints_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_monitored_endpoints_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitored_endpoints")),
    )
    with op.batch_alter_table("monitored_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitored_endpoints_next_due_at"), ["next_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitored_endpoints_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monitored_endpoints_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("check_run_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("raised_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_user_id"],
            ["users.id"],
            name=op.f("fk_alerts_acknowledged_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["check_run_id"], ["check_runs.id"], name=op.f("fk_alerts_check_run_id_check_runs")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["monitored_endpoints.id"],
            name=op.f("fk_alerts_endpoint_id_monitored_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_alerts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_alerts_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alerts_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_raised_at"), ["raised_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_product_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_organisation_id"))

    op.drop_table("alerts")
    with op.batch_alter_table("monitored_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitored_endpoints_product_id"))
        batch_op.drop_index(batch_op.f("ix_monitored_endpoints_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_monitored_endpoints_next_due_at"))

    op.drop_table("monitored_endpoints")
