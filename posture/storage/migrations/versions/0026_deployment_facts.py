"""a force's deployment of a product carries the facts its own use adds (the classification of
the data it puts in, the police networks and national systems it connects, the records it
holds), from which the deployment's required profile is derived

Revision ID: 0026_deployment_facts
Revises: 0025_risk_register
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026_deployment_facts"
down_revision: str | None = "0025_risk_register"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("classification", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("sensitive_caveat", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("police_networks", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(
            sa.Column("national_systems", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("records_held", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        for column in (
            "records_held",
            "national_systems",
            "police_networks",
            "sensitive_caveat",
            "classification",
        ):
            batch.drop_column(column)
