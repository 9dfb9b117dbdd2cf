"""check_run_milestones: each run's milestone statuses as rows, backfilled from stored results;
an index ranking each subject's runs of a kind by finish time

Revision ID: 0017_check_run_milestones
Revises: 0016_snapshot_columns
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_check_run_milestones"
down_revision: str | None = "0016_snapshot_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000
# Frozen copies of what posture.check_milestones writes today: a migration must not change
# when application code does.
STATUSES = ("met", "not met", "not assessed")
MAX_ID = 64

json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
runs = sa.table("check_runs", sa.column("id", sa.Integer()), sa.column("result", json_type))
milestones = sa.table(
    "check_run_milestones",
    sa.column("check_run_id", sa.Integer()),
    sa.column("milestone_id", sa.String()),
    sa.column("status", sa.String()),
)


def upgrade() -> None:
    op.create_table(
        "check_run_milestones",
        sa.Column("check_run_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_run_id"],
            ["check_runs.id"],
            name=op.f("fk_check_run_milestones_check_run_id_check_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "check_run_id", "milestone_id", name=op.f("pk_check_run_milestones")
        ),
    )
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_runs_subject_kind",
            ["organisation_id", "product_id", "kind", "finished_at"],
            unique=False,
        )
    connection = op.get_bind()
    last = 0
    while True:
        batch = connection.execute(
            sa.select(runs.c.id, runs.c.result)
            .where(runs.c.id > last)
            .order_by(runs.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        rows = [row for run_id, result in batch for row in _rows(run_id, result)]
        if rows:
            connection.execute(sa.insert(milestones), rows)
        last = batch[-1].id


def downgrade() -> None:
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_check_runs_subject_kind")
    op.drop_table("check_run_milestones")


def _rows(run_id: int, result: Any) -> list[dict[str, Any]]:
    listed = result.get("milestones") if isinstance(result, dict) else None
    found: dict[str, dict[str, Any]] = {}
    for entry in listed if isinstance(listed, list) else ():
        if not isinstance(entry, dict):
            continue
        milestone = entry.get("id")
        if not isinstance(milestone, str) or not milestone or len(milestone) > MAX_ID:
            continue
        status = entry.get("status")
        found.setdefault(
            milestone,
            {
                "check_run_id": run_id,
                "milestone_id": milestone,
                "status": status if status in STATUSES else "not assessed",
            },
        )
    return list(found.values())
