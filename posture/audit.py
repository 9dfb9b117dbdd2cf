"""Hash-chained audit trail: every state change appends one event; verify finds the first break."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.audit_encoding import GENESIS_HASH, canonical_bytes, event_hash
from posture.audit_personal import (
    erased_digest,
    is_erased,
    item_key,
    personal_digest,
    sealed_items,
    split,
    stored_commitment,
)
from posture.storage.models import AuditEvent, AuditPersonal


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or a named system process such as the CLI or a worker."""

    label: str
    user_id: int | None = None
    organisation_id: int | None = None


SYSTEM = Actor(label="system")


# The action of an erasure event; its data's `erased_digest` names the events it erased.
PERSON_ERASED = "admin.person_erased"


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
    """Append an event in the caller's transaction, so it commits or rolls back with the change.
    Personal data (a person's name as actor, values under PERSONAL_DATA_KEYS) is kept apart
    from the hashed fields, which commit to it with a salted digest."""
    # Round-trip the payload so what is hashed is exactly what the JSON column will return.
    parts = split(actor.label, actor.user_id, json.loads(canonical_bytes(data or {})))
    stored, digest = sealed_items(parts.items) if parts.items else ([], None)
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_user_id=actor.user_id,
        actor_label=parts.actor_label,
        organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=parts.data,
        format=2,
        personal_digest=digest,
        prev_hash=_tip(session),
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    if stored:
        # Round-tripped as the data was: the commitments are over what the column returns.
        session.add(AuditPersonal(event_id=event.id, payload={"items": stored}))
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
    # Every erasure event: id -> (its hash, the digest of the items it erased), which
    # posture.audit_checkpoint_verify matches against the signed erasure records.
    erasures: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return self.first_break is None


def _personal_break(event: AuditEvent, erased: dict[int, list[str]]) -> str | None:
    """Why the event's personal items do not match what its hash committed to, if they do not.
    Erased items are collected by erasure event, to be matched against those events' digests."""
    held = event.personal
    if event.personal_digest is None:
        return None if held is None else "carries personal data its hash never committed to"
    if held is None:
        return "its personal data was deleted, not erased"
    payload = held.payload
    items = (
        payload.get("items") if isinstance(payload, dict) and set(payload) == {"items"} else None
    )
    if not isinstance(items, list) or not items:
        return "its personal data is not in the form it was written in"
    commitments = []
    for item in items:
        commitment = stored_commitment(item)
        if commitment is None:
            return "its personal data is not in the form it was written in"
        if is_erased(item):
            erased[item["erased_by"]].append(item_key(event.id, item["path"]))
        commitments.append(commitment)
    if personal_digest(commitments) != event.personal_digest:
        return "its personal data was changed after writing"
    return None


def _erasure_break(
    erasures: dict[int, tuple[str, str]], erased: dict[int, list[str]]
) -> ChainBreak | None:
    """Each erasure event must have erased exactly the items its hashed digest names."""
    for erasure_id in sorted(set(erasures) | set(erased)):
        keys = erased.get(erasure_id, [])
        if erasure_id not in erasures:
            first = min(int(key.split(":")[0]) for key in keys)
            return ChainBreak(
                first,
                f"its personal data names event {erasure_id} as its erasure, which is not one",
            )
        if erased_digest(keys) != erasures[erasure_id][1]:
            return ChainBreak(
                erasure_id, "the personal data erased is not what this erasure says it erased"
            )
    return None


def verify_chain(session: Session, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first event whose link or content does not hold,
    then check every erased personal item against the erasure that says it erased it."""
    expected_prev = GENESIS_HASH
    checked = 0
    erasures: dict[int, tuple[str, str]] = {}
    erased: dict[int, list[str]] = defaultdict(list)
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch_size)
    for event in session.scalars(query):
        checked += 1
        problem: str | None = None
        if event.prev_hash != expected_prev:
            problem = (
                "links to a different predecessor: an event before it was deleted, "
                "inserted or reordered"
            )
        elif event_hash(event) != event.hash:
            problem = "content was changed after writing"
        elif event.format != 2:
            problem = (
                "written in format 1 (personal data in its hashed fields) by a release from "
                "before migration 0020, which converted every event before it"
            )
        else:
            problem = _personal_break(event, erased)
        if problem is not None:
            return ChainReport(checked, ChainBreak(event.id, problem), erasures)
        if event.action == PERSON_ERASED:
            data = event.data if isinstance(event.data, dict) else {}
            erasures[event.id] = (event.hash, str(data.get("erased_digest", "")))
        expected_prev = event.hash
    return ChainReport(checked, _erasure_break(erasures, erased), erasures)


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
    first: EventPosition | None
    found: dict[int, EventPosition]


def index_events(
    session: Session, event_ids: Collection[int], batch_size: int = 20_000
) -> ChainIndex:
    """One pass over ids and hashes only: the position and stored hash of each wanted event.
    Positions are counted, not taken from ids, since ids have gaps (rolled-back appends)."""
    wanted = set(event_ids)
    found: dict[int, EventPosition] = {}
    count = 0
    first: tuple[int, EventPosition] | None = None
    query = (
        select(AuditEvent.id, AuditEvent.hash)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=batch_size)
    )
    for event_id, stored_hash in session.execute(query):
        count += 1
        if first is None or event_id in wanted:
            place = EventPosition(count, stored_hash)
            if first is None:
                first = (event_id, place)
            if event_id in wanted:
                found[event_id] = place
    return ChainIndex(count, *(first or (None, None)), found)
