"""jobs name their product in a column, so a product's jobs are found by an index

Revision ID: 0010_job_product
Revises: 0009_monitoring
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_job_product"
down_revision: str | None = "0009_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOBS = sa.table(
    "jobs",
    sa.column("id", sa.Integer()),
    sa.column("payload", sa.JSON()),
    sa.column("product_id", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_product_id"), ["product_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_jobs_product_id_products"), "products", ["product_id"], ["id"]
        )
    # Until now the product was only in the payload; carry it over for existing jobs.
    connection = op.get_bind()
    rows = connection.execute(sa.select(JOBS.c.id, JOBS.c.payload)).all()
    for job_id, payload in rows:
        product_id = (payload or {}).get("product_id")
        if isinstance(product_id, int):
            connection.execute(
                JOBS.update().where(JOBS.c.id == job_id).values(product_id=product_id)
            )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_product_id_products"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_jobs_product_id"))
        batch_op.drop_column("product_id")
