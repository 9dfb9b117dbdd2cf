"""a deployment is a force's portfolio record: the product version it runs, its criticality to
the force, whether it faces the internet, its contract and renewal notice, its owner and the
product's sub-suppliers (fourth parties); an alert may be a force's copy of a product's alert

Revision ID: 0027_portfolio
Revises: 0026_deployment_facts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0027_portfolio"
down_revision: str | None = "0026_deployment_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("product_version", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("criticality", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("internet_facing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("contract_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("contract_end", sa.Date(), nullable=True))
        batch.add_column(sa.Column("renewal_notice_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("sub_suppliers", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("updated_at", UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("relayed_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alerts_relayed_from_id", "alerts", ["relayed_from_id"], ["id"])
        # A force holds one copy of an alert, however often it is relayed.
        batch.create_unique_constraint(
            "uq_alerts_relayed_from_organisation", ["relayed_from_id", "organisation_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_relayed_from_organisation", type_="unique")
        batch.drop_constraint("fk_alerts_relayed_from_id", type_="foreignkey")
        batch.drop_column("relayed_from_id")
    with op.batch_alter_table("deployments") as batch:
        for column in (
            "updated_at",
            "sub_suppliers",
            "owner",
            "renewal_notice_days",
            "contract_end",
            "contract_start",
            "internet_facing",
            "criticality",
            "product_version",
        ):
            batch.drop_column(column)
