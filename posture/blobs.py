"""Files kept once, named by their SHA-256, in the data folder: evidence and the files a check
reads. A job or record refers to a file by its hash, never carries a copy,
and every read proves the bytes are still the ones that were stored."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from kernel.data_dir import BLOBS_FOLDER, ensure_data_dir
from kernel.errors import ValidationFailed
from kernel.files import replace_whole
from kernel.settings import Settings

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobStore:
    folder: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> BlobStore:
        return cls(ensure_data_dir(settings) / BLOBS_FOLDER)

    def path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise ValidationFailed("file: not a SHA-256 digest")
        return self.folder / digest

    def put(self, data: bytes) -> str:
        """Store `data` (once) and return its digest. A staged copy with a name of its own is
        renamed into place, so concurrent writers of the same file never see half of it.

        A file already stored gets its modification time set to now: the retention sweep keeps
        a file modified within the hour (posture/retention/blobs.py), so the record about to
        name it again never names a file the sweep removed in the meantime."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        try:
            os.utime(target)
            return digest
        except OSError:
            pass  # not stored (or removed just now, or not ours to touch): stored anew below
        self.folder.mkdir(mode=0o700, exist_ok=True)
        replace_whole(target, data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise ValidationFailed(f"file {digest[:12]}… is no longer stored") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValidationFailed(f"file {digest[:12]}… was changed after it was stored")
        return data
