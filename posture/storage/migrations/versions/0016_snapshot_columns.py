"""posture_snapshots: what dashboards read moves out of the JSON detail into columns and a side
table of objective scores (posture_snapshot_objectives); one index on (taken_at, subject_kind)

Existing rows are backfilled from their detail in batches, and the moved keys leave it; a
downgrade writes them back into detail before the columns go.

Revision ID: 0016_snapshot_columns
Revises: 0015_identity_epoch
Create Date: 2026-12-16
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_snapshot_columns"
down_revision: str | None = "0015_identity_epoch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000
# The keys of detail that become columns (objectives becomes the side table).
COUNTS = ("contradicted", "not_applicable", "gaps")
MOVED = ("assessment_id", "policy_version", "capped", *COUNTS, "objectives")

json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
snapshots = sa.table(
    "posture_snapshots",
    sa.column("id", sa.Integer()),
    sa.column("detail", json_type),
    sa.column("assessment_id", sa.Integer()),
    sa.column("policy_version", sa.String()),
    sa.column("capped", sa.Boolean()),
    *(sa.column(name, sa.Integer()) for name in COUNTS),
)
objectives = sa.table(
    "posture_snapshot_objectives",
    sa.column("snapshot_id", sa.Integer()),
    sa.column("objective_id", sa.String()),
    sa.column("score", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("posture_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("policy_version", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("capped", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        for name in COUNTS:
            batch_op.add_column(
                sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            )
        # The new index leads with taken_at, so the single-column one adds nothing.
        batch_op.drop_index(batch_op.f("ix_posture_snapshots_taken_at"))
        batch_op.create_index(
            "ix_posture_snapshots_taken_at_kind", ["taken_at", "subject_kind"], unique=False
        )
    op.create_table(
        "posture_snapshot_objectives",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["posture_snapshots.id"],
            name=op.f("fk_posture_snapshot_objectives_snapshot_id_posture_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "objective_id", name=op.f("pk_posture_snapshot_objectives")
        ),
    )
    connection = op.get_bind()
    set_columns = (
        sa.update(snapshots)
        .where(snapshots.c.id == sa.bindparam("row_id"))
        .values(
            detail=sa.bindparam("new_detail"),
            assessment_id=sa.bindparam("new_assessment_id"),
            policy_version=sa.bindparam("new_policy_version"),
            capped=sa.bindparam("new_capped"),
            **{name: sa.bindparam(f"new_{name}") for name in COUNTS},
        )
    )
    for batch in _batches(connection):
        updates, scores = [], []
        for row_id, detail in batch:
            detail = dict(detail or {})
            moved = {key: detail.pop(key, None) for key in MOVED}
            updates.append(
                {
                    "row_id": row_id,
                    "new_detail": detail,
                    "new_assessment_id": _integer(moved["assessment_id"]),
                    "new_policy_version": _text(moved["policy_version"]),
                    "new_capped": moved["capped"] is True,
                    **{f"new_{name}": _integer(moved[name]) or 0 for name in COUNTS},
                }
            )
            scores.extend(
                {"snapshot_id": row_id, "objective_id": objective, "score": _float(score)}
                for objective, score in _objective_items(moved["objectives"])
            )
        connection.execute(set_columns, updates)
        if scores:
            connection.execute(sa.insert(objectives), scores)


def downgrade() -> None:
    connection = op.get_bind()
    restore = (
        sa.update(snapshots)
        .where(snapshots.c.id == sa.bindparam("row_id"))
        .values(detail=sa.bindparam("new_detail"))
    )
    for batch in _batches(connection, with_columns=True):
        ids = [row.id for row in batch]
        by_snapshot: dict[int, dict[str, float | None]] = {row_id: {} for row_id in ids}
        for snapshot_id, objective_id, score in connection.execute(
            sa.select(objectives.c.snapshot_id, objectives.c.objective_id, objectives.c.score)
            .where(objectives.c.snapshot_id.in_(ids))
            .order_by(objectives.c.snapshot_id, objectives.c.objective_id)
        ):
            by_snapshot[snapshot_id][objective_id] = score
        updates = [
            {
                "row_id": row.id,
                "new_detail": {
                    **(row.detail or {}),
                    "assessment_id": row.assessment_id,
                    "policy_version": row.policy_version,
                    "capped": bool(row.capped),
                    **{name: getattr(row, name) for name in COUNTS},
                    "objectives": by_snapshot[row.id],
                },
            }
            for row in batch
        ]
        connection.execute(restore, updates)
    op.drop_table("posture_snapshot_objectives")
    with op.batch_alter_table("posture_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_posture_snapshots_taken_at_kind")
        batch_op.create_index(
            batch_op.f("ix_posture_snapshots_taken_at"), ["taken_at"], unique=False
        )
        for name in ("gaps", "not_applicable", "contradicted", "capped"):
            batch_op.drop_column(name)
        batch_op.drop_column("policy_version")
        batch_op.drop_column("assessment_id")


def _batches(connection: sa.Connection, with_columns: bool = False) -> Iterator[list[Any]]:
    """Rows in id order, BATCH at a time, keyed on the last id so each query is an index seek."""
    columns = list(snapshots.c) if with_columns else [snapshots.c.id, snapshots.c.detail]
    last = 0
    while True:
        batch = connection.execute(
            sa.select(*columns).where(snapshots.c.id > last).order_by(snapshots.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        yield batch
        last = batch[-1].id


# Old rows were written by code, but a hand-edited or truncated detail must not stop an upgrade:
# a value of the wrong type is stored as unknown rather than failing the migration.
def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def _objective_items(value: Any) -> list[tuple[str, Any]]:
    # A framework's objective ids are at most 64 characters; a longer key is not one.
    if not isinstance(value, dict):
        return []
    return [(key, score) for key, score in value.items() if isinstance(key, str) and len(key) <= 64]
