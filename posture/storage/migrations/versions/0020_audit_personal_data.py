"""audit_events: personal data moves out of the hashed fields into audit_personal, each item
committed to by its own salted digest (format 2), so a person can be erased and the chain still
verify

Every existing event is converted in id order: the format-1 chain is verified first (a broken
chain is refused, never re-sealed over), each event's personal items are split off, and the
chain is re-hashed. One `audit.personal_data_separated` event is appended to record it.
Checkpoints signed before are compared with the old chain by `posture.audit_reseal` before this
runs, and a new one is signed straight after. The columns are added only where missing, since
SQLite does not undo them if the conversion fails. A downgrade merges the items back and
re-hashes in format 1; it refuses once a person has been erased.

Revision ID: 0020_audit_personal_data
Revises: 0019_dashboard_indexes
Create Date: 2026-12-06
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kernel.errors import DatabaseError
from posture.audit_encoding import GENESIS_HASH, event_hash
from posture.audit_personal import PERSONAL_DATA_SEPARATED, merge_items, sealed_items, split
from posture.storage.base import UtcDateTime

revision: str = "0020_audit_personal_data"
down_revision: str | None = "0019_dashboard_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000
CONVERTED = PERSONAL_DATA_SEPARATED

json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", UtcDateTime()),
    sa.column("actor_user_id", sa.Integer()),
    sa.column("actor_label", sa.String()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("data", json_type),
    sa.column("format", sa.SmallInteger()),
    sa.column("personal_digest", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
personal = sa.table(
    "audit_personal",
    sa.column("event_id", sa.Integer()),
    sa.column("payload", json_type),
)


# The columns every format has (the others are added by this migration).
WRITTEN = (
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_label",
    "organisation_id",
    "action",
    "object_type",
    "object_id",
    "data",
    "prev_hash",
    "hash",
)


class ChainBroken(DatabaseError):
    """Shown as one line by the CLI; the schema is left as it was."""


def _rows(connection: sa.Connection) -> Iterator[SimpleNamespace]:
    last = 0
    while True:
        batch = connection.execute(
            sa.select(*(events.c[name] for name in WRITTEN))
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for row in batch:
            yield SimpleNamespace(**row._mapping)
        last = batch[-1].id


def _write(connection: sa.Connection, updates: list[dict[str, Any]], parts: list[dict]) -> None:
    if updates:
        connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("b_id"))
            .values(
                actor_label=sa.bindparam("b_label"),
                data=sa.bindparam("b_data"),
                format=sa.bindparam("b_format"),
                personal_digest=sa.bindparam("b_digest"),
                prev_hash=sa.bindparam("b_prev"),
                hash=sa.bindparam("b_hash"),
            ),
            updates,
        )
    if parts:
        connection.execute(personal.insert(), parts)


def _legacy_rows(connection: sa.Connection) -> Iterator[SimpleNamespace]:
    """The format-1 events in id order, each checked to link and hash as written."""
    prev = GENESIS_HASH
    for row in _rows(connection):
        row.format, row.personal_digest = 1, None
        if row.prev_hash != prev or event_hash(row) != row.hash:
            raise ChainBroken(
                f"the audit chain is broken at event {row.id}: run `assure audit verify`. "
                "This upgrade re-seals the chain and will not seal over a break; the schema "
                "was left as it was."
            )
        prev = row.hash
        yield row


def _convert(connection: sa.Connection) -> int:
    """Re-seal every format-1 event as format 2; returns how many."""
    new_prev = GENESIS_HASH
    count, last_id = 0, None
    updates: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for row in _legacy_rows(connection):
        cut = split(row.actor_label, row.actor_user_id, row.data or {})
        stored, digest = sealed_items(cut.items) if cut.items else ([], None)
        row.actor_label, row.data, row.format = cut.actor_label, cut.data, 2
        row.personal_digest, row.prev_hash = digest, new_prev
        new_prev = event_hash(row)
        updates.append(
            {
                "b_id": row.id,
                "b_label": row.actor_label,
                "b_data": row.data,
                "b_format": 2,
                "b_digest": digest,
                "b_prev": row.prev_hash,
                "b_hash": new_prev,
            }
        )
        if stored:
            parts.append({"event_id": row.id, "payload": {"items": stored}})
        count, last_id = count + 1, row.id
        if len(updates) >= BATCH:
            _write(connection, updates, parts)
            updates, parts = [], []
    _write(connection, updates, parts)
    if count:
        marker = SimpleNamespace(
            occurred_at=datetime.now(UTC),
            actor_user_id=None,
            actor_label="migration 0020",
            organisation_id=None,
            action=CONVERTED,
            object_type="audit",
            object_id="chain",
            data={"converted_events": count, "legacy_tip_event_id": last_id},
            format=2,
            personal_digest=None,
            prev_hash=new_prev,
        )
        connection.execute(events.insert().values(**vars(marker), hash=event_hash(marker)))
    return count


def _columns(connection: sa.Connection, table: str) -> set[str]:
    inspector = sa.inspect(connection)
    if not inspector.has_table(table):
        return set()
    return {column["name"] for column in inspector.get_columns(table)}


def upgrade() -> None:
    connection = op.get_bind()
    # Checked whole before any change, so a broken chain leaves the schema untouched.
    for _ in _legacy_rows(connection):
        pass
    present = _columns(connection, "audit_events")
    if "format" not in present:
        op.add_column(
            "audit_events",
            sa.Column("format", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        )
    if "personal_digest" not in present:
        op.add_column("audit_events", sa.Column("personal_digest", sa.String(64), nullable=True))
    if not _columns(connection, "audit_personal"):
        op.create_table(
            "audit_personal",
            sa.Column("event_id", sa.Integer(), nullable=False),
            sa.Column("payload", json_type, nullable=False),
            sa.ForeignKeyConstraint(
                ["event_id"],
                ["audit_events.id"],
                name=op.f("fk_audit_personal_event_id_audit_events"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_personal")),
        )
    else:
        connection.execute(personal.delete())  # a conversion cut short: done again whole
    _convert(connection)


def downgrade() -> None:
    connection = op.get_bind()
    held: dict[int, list[dict[str, Any]]] = {}
    for event_id, payload in connection.execute(sa.select(personal.c.event_id, personal.c.payload)):
        items = payload["items"]
        if any("value" not in item for item in items):
            raise ChainBroken(
                "audit events have had a person erased; their personal data cannot be put back "
                "into format-1 events, so this schema cannot be downgraded"
            )
        held[event_id] = items
    prev = GENESIS_HASH
    updates: list[dict[str, Any]] = []
    for row in _rows(connection):
        if row.action == CONVERTED:
            connection.execute(events.delete().where(events.c.id == row.id))
            continue
        actor, data = merge_items(row.data or {}, held.get(row.id, []))
        row.actor_label = actor if actor is not None else row.actor_label
        row.data, row.format, row.personal_digest, row.prev_hash = data, 1, None, prev
        prev = event_hash(row)
        updates.append(
            {
                "b_id": row.id,
                "b_label": row.actor_label,
                "b_data": row.data,
                "b_format": 1,
                "b_digest": None,
                "b_prev": row.prev_hash,
                "b_hash": prev,
            }
        )
        if len(updates) >= BATCH:
            _write(connection, updates, [])
            updates = []
    _write(connection, updates, [])
    op.drop_table("audit_personal")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("personal_digest")
        batch_op.drop_column("format")
