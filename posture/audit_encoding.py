"""The one byte encoding of audit content that hashes and commitments are taken over, and which
fields an event's hash covers in each format. Nothing here touches storage, so the schema
migration that re-seals the chain uses the same definitions as the code that writes it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Protocol

GENESIS_HASH = "0" * 64


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """A deterministic encoding: the same event always hashes the same on every backend."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


class HashedEvent(Protocol):
    """What an event's hash covers: an AuditEvent, or a row the schema migration rewrites."""

    occurred_at: datetime
    actor_user_id: int | None
    actor_label: str
    organisation_id: int | None
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]
    format: int
    personal_digest: str | None
    prev_hash: str


def hashed_fields(event: HashedEvent) -> dict[str, Any]:
    occurred: datetime = event.occurred_at
    fields = {
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
    if event.format != 1:
        fields["format"] = event.format
        fields["personal_digest"] = event.personal_digest
    return fields


def event_hash(event: HashedEvent) -> str:
    return hashlib.sha256(canonical_bytes(hashed_fields(event))).hexdigest()
