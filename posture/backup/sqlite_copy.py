"""SQLite: a consistent copy of a live database through the online backup API, and what a copy
holds (row counts, schema revision, the uploads its rows name).

The copy is made in one backup step, so it is one read transaction: in WAL mode writers carry
on meanwhile, and the copy is the database as it was when the step began. Stepping page by page
would restart whenever another process writes, and might never finish under load.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from posture.backup.manifest import BackupError

BUSY_TIMEOUT_S = 30.0
# The tables whose rows name a file in the uploads store by its SHA-256, with a storage key
# "uploads/<sha256>" (supplier_portal.uploads).
UPLOAD_TABLES = ("evidence", "challenge_attachments")


@dataclass(frozen=True)
class DatabaseFacts:
    table_rows: dict[str, int]
    schema_revision: str | None
    upload_digests: frozenset[str]


def sqlite_path(database_url: str) -> Path:
    """The file of a `sqlite:///path` URL, without loading SQLAlchemy to parse it."""
    scheme, sep, rest = database_url.partition(":///")
    if not sep or not scheme.startswith("sqlite"):
        raise BackupError(f"{database_url!r} is not a SQLite file URL")
    path = rest.split("?", 1)[0]
    if path in ("", ":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path)


def copy_live(source: Path, target: Path) -> DatabaseFacts:
    """Copy the database at `source` to the new file `target` and describe the copy."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}; nothing to back up")
    try:
        live = sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)
            # A copy on its own: no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            copy.commit()
        finally:
            copy.close()
            live.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source}: {exc}") from None
    return describe(target)


def describe(path: Path) -> DatabaseFacts:
    """Row counts of every table, the Alembic revision and the uploads named, read from `path`."""
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database copy {path}: {exc}") from None
    try:
        problems = connection.execute("PRAGMA quick_check").fetchall()
        if problems != [("ok",)]:
            raise BackupError(f"the database copy {path} is damaged: {problems[0][0]}")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        rows = {
            # Names read from sqlite_master, quoted: nothing user-typed.
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in tables
        }
        revision = None
        if "alembic_version" in rows:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = found[0] if found else None
        digests: set[str] = set()
        for table in UPLOAD_TABLES if set(UPLOAD_TABLES) <= set(rows) else ():
            query = f"SELECT sha256 FROM {table} WHERE storage_key LIKE 'uploads/%'"  # noqa: S608
            digests.update(row[0] for row in connection.execute(query))
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database copy {path}: {exc}") from None
    finally:
        connection.close()
    return DatabaseFacts(rows, revision, frozenset(digests))
