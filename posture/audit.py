"""Hash-chained audit trail: every state change appends one event; verify finds the first break."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.storage.models import AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or a named system process such as the CLI or a worker."""

    label: str
    user_id: int | None = None
    organisation_id: int | None = None


SYSTEM = Actor(label="system")


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """A deterministic encoding: the same event always hashes the same on every backend."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    occurred: datetime = event.occurred_at
    return {
        "occurred_at": occurred.isoformat(timespec="microseconds"),
        "actor_user_id": event.actor_user_id,
        "actor_label": event.actor_label,
        "organisation_id": event.organisation_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_bytes(_hashed_fields(event))).hexdigest()


# Any fixed 64-bit number; it names the one PostgreSQL advisory lock that orders appends.
AUDIT_LOCK_KEY = 0x6173737572652D61


def hold_append_lock(session: Session) -> None:
    """Take the lock that orders appends to the chain, held until the transaction ends. Code
    that needs another lock as well takes this one first, so every path locks in one order."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement that changes nothing still takes SQLite's single write lock.
        session.execute(text("UPDATE audit_events SET hash = hash WHERE 0"))


def _tip(session: Session) -> str:
    # The chain needs one total order: two transactions that both read the same tip would both
    # link to it, and the second would fail on the unique prev_hash. So the tip is read only
    # once this transaction holds the lock that orders appends, until it commits or rolls back.
    hold_append_lock(session)
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS_HASH


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    data: dict[str, Any] | None = None,
    organisation_id: int | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction, so it commits or rolls back with the change."""
    # Round-trip the payload so what is hashed is exactly what the JSON column will return.
    payload = json.loads(canonical_bytes(data or {}))
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=payload,
        prev_hash=_tip(session),
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(session: Session, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first event whose link or content does not hold."""
    expected_prev = GENESIS_HASH
    checked = 0
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch_size)
    for event in session.scalars(query):
        checked += 1
        if event.prev_hash != expected_prev:
            return ChainReport(
                checked,
                ChainBreak(
                    event.id,
                    "links to a different predecessor: an event before it was deleted, "
                    "inserted or reordered",
                ),
            )
        if event_hash(event) != event.hash:
            return ChainReport(checked, ChainBreak(event.id, "content was changed after writing"))
        expected_prev = event.hash
    return ChainReport(checked, None)


@dataclass(frozen=True)
class ChainTip:
    """Where the chain ends, as a checkpoint signs it: how many events, the last and the first."""

    event_count: int
    tip_event_id: int | None
    tip_hash: str
    first_event_id: int | None
    first_hash: str | None


def chain_tip(session: Session) -> ChainTip:
    """Read the tip, then count up to it: appends are serialised and commit in id order, so
    every event up to a committed tip is already there and the count matches the tip."""
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is None:
        return ChainTip(0, None, GENESIS_HASH, None, None)
    count = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= last.id)
    )
    first = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id).limit(1)
    ).one()
    return ChainTip(count or 0, last.id, last.hash, first.id, first.hash)


@dataclass(frozen=True)
class EventPosition:
    position: int  # 1-based, in id order
    hash: str


@dataclass(frozen=True)
class ChainIndex:
    """The chain as it is now, for comparing with what checkpoints signed."""

    event_count: int
    first_event_id: int | None
    first_hash: str | None
    found: dict[int, EventPosition]


def index_events(
    session: Session, event_ids: Collection[int], batch_size: int = 20_000
) -> ChainIndex:
    """One pass over ids and hashes only: the position and stored hash of each wanted event.
    Positions are counted, not taken from ids, since ids have gaps (rolled-back appends)."""
    wanted = set(event_ids)
    found: dict[int, EventPosition] = {}
    count = 0
    first: tuple[int, str] | None = None
    query = (
        select(AuditEvent.id, AuditEvent.hash)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=batch_size)
    )
    for event_id, stored_hash in session.execute(query):
        count += 1
        if first is None:
            first = (event_id, stored_hash)
        if event_id in wanted:
            found[event_id] = EventPosition(count, stored_hash)
    return ChainIndex(count, *(first or (None, None)), found)
