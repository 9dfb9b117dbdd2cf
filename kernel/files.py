"""Files in the data directory that concurrent processes create or replace without tearing.

Two ways: `create_once` for a file made once and then only read (keys: the first writer wins
and every process uses its file), `replace_whole` for content-addressed files (every writer
writes the same bytes). In both, a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from kernel.ids import unique_suffix


def _staged(path: Path, data: bytes, mode: int) -> Path:
    staged = path.with_name(f".{path.name}.{unique_suffix()}.part")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def create_once(path: Path, make: Callable[[], bytes], mode: int = 0o600) -> bool:
    """Create `path` with `make()`'s bytes unless it exists; True when this call created it.
    The new file is written beside the final name and linked into place, so processes starting
    together agree on one file (the loser's bytes are discarded) and none reads a partial one."""
    if path.exists():
        return False
    staged = _staged(path, make(), mode)
    try:
        os.link(staged, path)
    except FileExistsError:  # another process won: its file is the one
        return False
    finally:
        staged.unlink(missing_ok=True)
    return True


def replace_whole(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Put `data` at `path` in one rename, replacing whatever is there."""
    staged = _staged(path, data, mode)
    try:
        os.replace(staged, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
