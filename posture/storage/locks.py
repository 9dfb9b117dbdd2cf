"""Named exclusive locks held until the transaction ends, for check-then-write sequences that
must not interleave (first-admin setup, removing an administrator)."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session

from kernel.errors import DatabaseError


def hold_exclusive(session: Session, name: str) -> None:
    """Block until no other transaction holds `name`; released at commit or rollback."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = zlib.crc32(f"assure:{name}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        # SQLite has one writer: a write that changes nothing takes that lock for the
        # transaction, so everything read after it is read by the only writer.
        session.execute(text("UPDATE users SET id = id WHERE 0"))
    else:
        raise DatabaseError(f"{dialect} is not supported: use SQLite or PostgreSQL")
