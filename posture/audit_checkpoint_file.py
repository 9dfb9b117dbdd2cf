"""An append-only file of JSON lines, safe for concurrent writers and readable after a crash.

Each record is appended with one `write` on a descriptor opened with O_APPEND, under an
exclusive `flock`, then fsynced; readers take a shared lock, so they never see half a record
being written. Only a crash (or power loss) in the middle of a write can leave an unterminated
last line: readers report it and skip it, and the next writer cuts it off before appending, so
a torn record never glues onto the next one and breaks a good line.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import AssureError

log = logging.getLogger("assure.audit")

# Enough for a few records (a signed checkpoint is about 7.5 KB) when only the last is needed.
TAIL_WINDOW = 64 * 1024


class CheckpointFileError(AssureError):
    """The checkpoint file cannot be read or written."""


@dataclass(frozen=True)
class LinesRead:
    exists: bool
    # (1-based line number, the line without its newline), for every terminated line.
    lines: tuple[tuple[int, bytes], ...]
    # Bytes after the last newline: a record whose write never finished.
    partial_tail: bytes


def _fail(path: Path, doing: str, exc: OSError) -> CheckpointFileError:
    return CheckpointFileError(f"cannot {doing} {path}: {exc.strerror}; check the data folder")


class AppendingLock:
    """What a writer may do while it holds the exclusive lock."""

    def __init__(self, descriptor: int, path: Path) -> None:
        self._fd = descriptor
        self._path = path

    def last_line(self) -> bytes | None:
        """The last complete line, or None when there is none within reach of the end."""
        try:
            size = os.fstat(self._fd).st_size
            start = max(0, size - TAIL_WINDOW)
            tail = os.pread(self._fd, size - start, start)
        except OSError as exc:
            raise _fail(self._path, "read", exc) from None
        lines = tail.split(b"\n")[:-1]  # the file ends with a newline: the last piece is empty
        if not lines or (start > 0 and len(lines) < 2):
            return None  # the line may begin before the window: unknown rather than wrong
        return lines[-1]

    def append(self, line: bytes) -> None:
        if b"\n" in line:
            raise ValueError("a record must be one line")
        data = line + b"\n"
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            os.fsync(self._fd)
        except OSError as exc:
            raise _fail(self._path, "append to", exc) from None


def _cut_partial_tail(descriptor: int, path: Path) -> None:
    """Drop bytes after the last newline: they are a record a crashed writer never finished."""
    size = os.fstat(descriptor).st_size
    if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - TAIL_WINDOW)
        newline = os.pread(descriptor, end - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    os.ftruncate(descriptor, keep)
    log.warning("%s: cut an unfinished last record of %d bytes", path, size - keep)


@dataclass(frozen=True)
class JsonLinesFile:
    path: Path

    @contextmanager
    def appending(self) -> Iterator[AppendingLock]:
        """Hold the exclusive lock; appends made in the block land in the order they are made."""
        created = not self.path.exists()
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _fail(self.path, "open", exc) from None
        try:
            try:
                os.fchmod(descriptor, 0o600)
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                _cut_partial_tail(descriptor, self.path)
            except OSError as exc:
                raise _fail(self.path, "lock", exc) from None
            yield AppendingLock(descriptor, self.path)
        finally:
            os.close(descriptor)  # releases the lock
        if created:
            _sync_folder(self.path.parent)

    def read(self) -> LinesRead:
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return LinesRead(False, (), b"")
        except OSError as exc:
            raise _fail(self.path, "read", exc) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            with os.fdopen(os.dup(descriptor), "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise _fail(self.path, "read", exc) from None
        finally:
            os.close(descriptor)
        *complete, partial = content.split(b"\n")
        return LinesRead(True, tuple(enumerate(complete, start=1)), partial)


def _sync_folder(folder: Path) -> None:
    """Make the new file's directory entry durable too, so a crash cannot lose the whole file."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
