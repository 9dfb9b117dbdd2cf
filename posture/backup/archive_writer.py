"""Write a backup archive: a plain tar, staged under a name of its own beside the target,
fsynced, then linked into place so no reader ever sees half an archive and an existing file
is never replaced. Every member is hashed as it is written. The writer holds a lock on its
staged file while it lives, so a later backup can tell a leftover of an interrupted one (no
lock) from one still being written."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import tarfile
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from kernel.ids import unique_suffix
from posture.backup.manifest import (
    MANIFEST_MEMBER,
    ArchiveMember,
    BackupError,
    Manifest,
    manifest_limit,
)


class _Hashing:
    """A file read through SHA-256: tarfile copies exactly the member's size through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    info.type = tarfile.REGTYPE
    return info


def sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class ArchiveWriter:
    def __init__(self, target: Path) -> None:
        if target.exists() or target.is_symlink():
            raise BackupError(f"{target} exists; choose another name (a backup is never replaced)")
        if not target.parent.is_dir():
            raise BackupError(f"folder {target.parent} does not exist; create it first")
        self.target = target
        self.staged = target.with_name(f".{target.name}.{unique_suffix()}.part")
        try:
            descriptor = os.open(self.staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise BackupError(f"cannot write in {target.parent}: {exc.strerror}") from None
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        self._file = os.fdopen(descriptor, "wb")
        # Closed in finish() or abort(): the writer is used as a context manager.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT
        )
        self.members: list[ArchiveMember] = []

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()

    def add_file(self, name: str, path: Path, expected_sha256: str | None = None) -> ArchiveMember:
        """Copy `path` in; with `expected_sha256`, a file whose bytes differ stops the backup."""
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            hashing = _Hashing(handle)
            self._tar.addfile(_info(name, size), hashing)  # type: ignore[arg-type]
        digest = hashing.digest.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise BackupError(
                f"{name} does not match its SHA-256 (the file was damaged on disk); restore it "
                "from an earlier backup or move it out of the data folder, then back up again"
            )
        return self._record(name, size, digest)

    def add_bytes(self, name: str, data: bytes) -> ArchiveMember:
        self._tar.addfile(_info(name, len(data)), io.BytesIO(data))
        return self._record(name, len(data), hashlib.sha256(data).hexdigest())

    def _record(self, name: str, size: int, digest: str) -> ArchiveMember:
        member = ArchiveMember(name=name, size=size, sha256=digest)
        self.members.append(member)
        return member

    def finish(self, manifest: Manifest) -> int:
        """Write the manifest last, make the archive durable and give it its name; its size."""
        data = manifest.to_bytes()
        # What a restore would refuse is refused now, while the estate is still there.
        limit = manifest_limit(len(self.members) + 1)
        if len(data) > limit:
            raise BackupError(
                f"the manifest would be {len(data)} bytes, more than the {limit} a restore "
                f"accepts for {len(self.members)} members; nothing was written"
            )
        self._tar.addfile(_info(MANIFEST_MEMBER, len(data)), io.BytesIO(data))
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        size = os.fstat(self._file.fileno()).st_size
        self._file.close()
        try:
            os.link(self.staged, self.target)  # fails rather than replace a file made meanwhile
        except FileExistsError:
            self.staged.unlink(missing_ok=True)
            raise BackupError(
                f"{self.target} appeared while the backup was written; kept it"
            ) from None
        self.staged.unlink()
        sync_folder(self.target.parent)
        return size

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self.staged.unlink(missing_ok=True)
