"""Evidence files a sweep released: removed from the blob store only when no record uses them
and nobody stored them again within the hour.

A file is kept once by digest and several records may share it (two products with the same
certificate, a check file staged for two jobs), so a digest is looked up in every table that
holds one, after the deleting transaction has committed, in a transaction of its own.

An upload of the same bytes stores nothing new (`BlobStore.put` finds the file) and commits its
record a moment later, so a reference check alone cannot see it. `put` therefore sets the
file's modification time, and a file modified within FILE_GRACE is kept. The file's name is
taken away (renamed) before its time is read, so a `put` either touched it before (the time
shows, and the file goes back) or finds no file and stores a new copy.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.ids import unique_suffix
from posture.blobs import BlobStore
from posture.storage.models import ChallengeAttachment, Evidence, ImportedCatalogue, Job

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_ANY_DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
# Longer than any upload takes from storing its file to committing its record.
FILE_GRACE = timedelta(hours=1)
# A file moved aside for removal; only a sweep killed between two system calls leaves one.
RELEASED_SUFFIX = ".released"


@dataclass(frozen=True)
class FilesRemoved:
    removed: int = 0
    # Unreferenced but stored again (or first stored) within FILE_GRACE: left in place.
    kept_recent: int = 0


def referenced(session: Session, digests: Iterable[str]) -> set[str]:
    """Those of `digests` that a row still names: evidence, challenge attachments, imported
    catalogues, or any job's payload (a check request names its file by digest)."""
    wanted = {d for d in digests if _DIGEST.fullmatch(d)}
    if not wanted:
        return set()
    found: set[str] = set()
    # Index look-ups for evidence and attachments (migration 0021); imported catalogues are few.
    for column in (Evidence.sha256, ChallengeAttachment.sha256, ImportedCatalogue.sha256):
        found.update(session.scalars(select(column).where(column.in_(sorted(wanted))).distinct()))
    if wanted - found:
        # One pass over the payloads as text, wherever in them a digest sits: a payload whose
        # shape changes later still protects its file. Finished jobs are swept after 90 days,
        # so the table stays small.
        texts = session.scalars(select(cast(Job.payload, String)).execution_options(yield_per=1000))
        for payload in texts:
            found.update(wanted.intersection(_ANY_DIGEST.findall(payload or "")))
    return found


def _stored_since(path: Path, instant: float) -> bool:
    """A stored file modified at or after `instant`; anything else is left to the removal,
    which reports what it cannot remove."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_mtime >= instant


def _remove_unless_touched(path: Path, fresh_after: float) -> Literal["removed", "recent", "gone"]:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return "gone"  # another sweep removed it first
    if not stat.S_ISREG(found.st_mode):
        path.unlink()  # not a stored file: a folder refuses, and the sweep reports it
        return "removed"
    if found.st_mtime >= fresh_after:
        return "recent"
    # The name goes first, in one step: from now on `put` finds no file and stores a new copy;
    # a `put` that touched the file before shows in the moved file's time.
    aside = path.with_name(f".{path.name}.{unique_suffix()}{RELEASED_SUFFIX}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return "gone"
    if aside.lstat().st_mtime < fresh_after:
        aside.unlink()
        return "removed"
    # Back under its name; a copy a `put` stored there meanwhile holds the same bytes.
    os.replace(aside, path)
    return "recent"


def remove_unreferenced(
    sessions: sessionmaker[Session],
    store: BlobStore,
    digests: Iterable[str],
    grace: timedelta = FILE_GRACE,
) -> FilesRemoved:
    """Delete the files of `digests` no row names any more and nobody stored within `grace`.
    Run after the commit that released them, so a rolled-back batch never loses a file."""
    candidates = {d for d in digests if _DIGEST.fullmatch(d)}
    if not candidates:
        return FilesRemoved()
    # File times are the file system's clock, never the sweep's `now` (which a test may move).
    fresh_after = time.time() - grace.total_seconds()
    recent = {d for d in candidates if _stored_since(store.path(d), fresh_after)}
    # The references are read last, immediately before the files go: a record committed at
    # any time before this read keeps its file.
    with sessions() as session:
        keep = referenced(session, candidates - recent)
    removed = 0
    kept_recent = len(recent)
    for digest in sorted(candidates - recent - keep):
        outcome = _remove_unless_touched(store.path(digest), fresh_after)
        if outcome == "removed":
            removed += 1
        elif outcome == "recent":
            kept_recent += 1
    return FilesRemoved(removed, kept_recent)
