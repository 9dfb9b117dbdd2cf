"""The data directory: the one place that creates it, and the name of everything kept in it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kernel.errors import ConfigError

if TYPE_CHECKING:
    from kernel.settings import Settings

CONFIG_FILE = "assure.toml"
DATABASE_FILE = "assure.db"  # SQLite, when no ASSURE_DATABASE_URL is set
QUEUE_FILE = "queue.db"  # the job queue on SQLite, when no ASSURE_REDIS_URL is set
# The platform's signing keys: attestations of check exports, audit checkpoints, API tokens.
KEYS_FOLDER = "keys"
SECRET_BOX_FILE = "secret-box.key"  # noqa: S105  (a file name: seals second-factor secrets)
BLOBS_FOLDER = "uploads"  # submitted check files, kept once by digest
CHECKPOINT_FILE = "audit-checkpoints.jsonl"
# Signed records of every erasure of a person, which `assure audit verify` requires.
ERASURES_FILE = "audit-erasures.jsonl"


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory (0700) if needed, refuse one other users can write to, and
    prove it is writable. The folder holds the database, the queue and suppliers' evidence."""
    path = settings.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = path.stat().st_mode
        if mode & 0o022:
            raise ConfigError(
                f"data directory {path} can be written by other users (mode {mode & 0o777:o}); "
                f"run: chmod 700 {path}"
            )
        # A name of its own: processes starting together must not delete each other's probe.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"data directory {path} is not writable ({exc.strerror}); "
            "set ASSURE_DATA_DIR to a folder you can write to"
        ) from exc
    return path


def keys_folder(settings: Settings) -> Path:
    """Where the platform's signing keys live, the data directory created first."""
    return ensure_data_dir(settings) / KEYS_FOLDER
