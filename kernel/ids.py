"""Identifiers the platform makes up: random ones for documents and names no one may guess or
repeat. Secrets (session tokens, codes) are made where they are kept, from `secrets`."""

from __future__ import annotations

import secrets
import uuid


def urn_uuid() -> str:
    """A random UUID as a URN: a CycloneDX document's serial number."""
    return f"urn:uuid:{uuid.uuid4()}"


def name_based_uuid(namespace: uuid.UUID, identity: str) -> str:
    """The same UUID every time for the same identity: re-exports of one catalogue agree."""
    return str(uuid.uuid5(namespace, identity))


def unique_suffix() -> str:
    """A suffix that makes a staged file's name its writer's own among concurrent writers."""
    return secrets.token_hex(8)
