"""Taking back what a failed restore wrote, and only that: the objects it restored into a
PostgreSQL schema, the SQLite database file it linked into place (with its side files), and
what it put in the data folder. Each step runs even when one before it failed, and the reason
the restore failed stays the reason reported."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from posture.backup.manifest import BackupError

if TYPE_CHECKING:
    from sqlalchemy import Engine

# SQLite's files beside a database: refused when present, removed with the database.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class RestoreWrites:
    """What the restore created, so a failure can take all of it back."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created_folder = not folder.exists()
        self.database_file: Path | None = None
        self.postgres: Engine | None = None

    def remove(self) -> None:
        """Every step runs even when one before it failed; a later failure carries the earlier
        one as its context."""
        try:
            self._drop_schema_objects()
        finally:
            try:
                self._remove_database_files()
            finally:
                self._remove_folder()

    def _drop_schema_objects(self) -> None:
        if self.postgres is not None:
            from posture.backup.postgres_copy import drop_restored

            drop_restored(self.postgres)

    def _remove_database_files(self) -> None:
        if self.database_file is not None:
            for suffix in ("", *SQLITE_SIDE_FILES):
                Path(f"{self.database_file}{suffix}").unlink(missing_ok=True)

    def _remove_folder(self) -> None:
        if self.created_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        elif self.folder.is_dir():
            for entry in os.listdir(self.folder):
                path = self.folder / entry
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


def undo(writes: RestoreWrites, failure: BaseException) -> None:
    """Remove what the restore wrote; the failure stays the reason reported, and an undo that
    fails too is said to have failed, with what is left to remove by hand."""
    try:
        writes.remove()
    except Exception as cleanup:
        reason = failure.strerror if isinstance(failure, OSError) else None
        what = f"undoing the restore failed too ({cleanup}): remove {writes.folder}"
        if writes.postgres is not None:
            what += " and empty the target schema"
        if not isinstance(failure, Exception):
            failure.add_note(what)
            return
        raise BackupError(f"{reason or failure}; {what} by hand") from failure
