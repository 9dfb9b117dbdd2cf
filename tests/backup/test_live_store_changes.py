"""A backup of a store that changes under it: files the retention sweep deletes while the
backup copies are skipped (and recorded when the copied rows name them), leftovers of an
interrupted backup are removed by the next one, and a target reached through a link into the
data folder is refused."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import threading
import time
from pathlib import Path

import pytest

from posture.backup.archive_writer import ArchiveWriter
from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import key_fingerprint, take_backup
from tests.backup.estate import EVIDENCE, seed_estate, settings_for

ORPHANS = 400


def test_an_upload_the_sweep_deletes_while_the_backup_copies_is_skipped_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    digests = sorted(hashlib.sha256(data).hexdigest() for data in EVIDENCE)
    swept = digests[-1]
    copy = ArchiveWriter.add_file

    def sweep_during_the_first_copy(
        writer: ArchiveWriter, name: str, path: Path, expected_sha256: str | None = None
    ):  # type: ignore[no-untyped-def]
        # The sweep deletes a released file after the backup listed the store.
        if name.startswith("uploads/"):
            (source / "uploads" / swept).unlink(missing_ok=True)
        return copy(writer, name, path, expected_sha256)

    monkeypatch.setattr(ArchiveWriter, "add_file", sweep_during_the_first_copy)
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    monkeypatch.undo()

    assert taken.manifest.uploads == digests[:-1]
    # The snapshot's rows still name it: recorded as missing, not hidden.
    assert taken.manifest.uploads_missing == [swept]
    report = restore_backup(
        settings_for(tmp_path / "restored"),
        taken.path,
        None,
        skip_keys=False,
        accept_unauthenticated=True,
        fingerprint=key_fingerprint(source),
    )
    assert report.checks.copy_faithful
    assert any("already missing" in warning for warning in report.checks.warnings)


def test_a_sweep_deleting_hundreds_of_files_during_the_backup_never_fails_it(
    tmp_path: Path,
) -> None:
    """Files no row names (released, swept) deleted by another thread from the far end of the
    listing while the backup copies from the near end."""
    source = tmp_path / "data"
    seed_estate(source)
    orphans = []
    for _ in range(ORPHANS):
        data = secrets.token_bytes(4096)
        digest = hashlib.sha256(data).hexdigest()
        (source / "uploads" / digest).write_bytes(data)
        orphans.append(digest)
    deleted: list[str] = []
    started = threading.Event()

    def sweep() -> None:
        started.wait(30)
        for digest in sorted(orphans, reverse=True):
            (source / "uploads" / digest).unlink()
            deleted.append(digest)

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    copy = ArchiveWriter.add_file

    def start_sweep(self: ArchiveWriter, name: str, path: Path, expected_sha256=None):  # type: ignore[no-untyped-def]
        if name.startswith("uploads/"):
            started.set()
        return copy(self, name, path, expected_sha256)

    ArchiveWriter.add_file = start_sweep  # type: ignore[method-assign]
    try:
        taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    finally:
        ArchiveWriter.add_file = copy  # type: ignore[method-assign]
        started.set()
        sweeper.join(30)
    assert len(deleted) == ORPHANS
    copied = set(taken.manifest.uploads)
    # Unlinking outruns copying and hashing: the sweep overtook the copy, files were skipped.
    assert len(copied) < len(EVIDENCE) + ORPHANS
    assert {hashlib.sha256(d).hexdigest() for d in EVIDENCE} <= copied
    assert taken.manifest.uploads_missing == []
    report = restore_backup(
        settings_for(tmp_path / "restored"),
        taken.path,
        None,
        skip_keys=False,
        accept_unauthenticated=True,
        fingerprint=key_fingerprint(source),
    )
    assert report.checks.copy_faithful
    assert report.checks.uploads_verified == len(copied)


def _aged(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    for inner in [path, *(path.iterdir() if path.is_dir() else [])]:
        os.utime(inner, (when, when), follow_symlinks=False)


def test_leftovers_of_an_interrupted_backup_are_removed_by_the_next_one(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    backups = tmp_path / "backups"
    backups.mkdir()
    staging = backups / ".assure-backup-k2x9_q0a"
    staging.mkdir()
    (staging / "assure.db").write_bytes(b"half a database")
    stale_part = backups / ".nightly-1.tar.0123456789abcdef.part"
    stale_part.write_bytes(b"half an archive")
    fresh_part = backups / ".nightly-2.tar.fedcba9876543210.part"
    fresh_part.write_bytes(b"a backup writing now")
    locked_part = backups / ".nightly-3.tar.00112233445566ff.part"
    locked_part.write_bytes(b"a slow backup still writing")
    someone_elses = backups / ".notes.part"
    someone_elses.write_bytes(b"not a backup's")
    for path in (staging, stale_part, locked_part, someone_elses):
        _aged(path, 2 * 3600)
    # A backup still running holds a lock on what it writes.
    holder = os.open(locked_part, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        taken = take_backup(
            settings_for(source), backups / "nightly-4.tar", None, include_keys=False
        )
    finally:
        os.close(holder)
    assert taken.leftovers_removed == [staging.name, stale_part.name]
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        [fresh_part.name, locked_part.name, someone_elses.name, "nightly-4.tar"]
    )


def test_a_target_reached_through_a_link_into_the_data_folder_is_refused(
    tmp_path: Path,
) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    (tmp_path / "backups").symlink_to(source)
    with pytest.raises(BackupError, match="outside the data folder"):
        take_backup(settings_for(source), tmp_path / "backups" / "b.tar", None, include_keys=False)
    assert not (source / "b.tar").exists()
