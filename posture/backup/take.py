"""Take a backup of a live estate into one archive.

The order is what makes the copy consistent while the platform keeps writing:

1. the secrets (keys folder, secret box, config) are read first: they never change once made;
2. the audit checkpoint file, complete lines only, under its lock: every checkpoint then names
   an event already committed, so one taken before the database snapshot is in it (copied
   later, a checkpoint could name events the copy lacks, and `audit verify` would call the
   restored trail truncated);
3. the database, as one snapshot (SQLite's online backup, or pg_dump at an exported snapshot);
4. the uploads, after the snapshot: they are written before the rows that name them and never
   change, so every file the copied rows name is there (later ones too: a superset is fine).
   The retention sweep may delete a released file between listing and copying: it is skipped,
   and when the copied rows name it, the manifest lists it among `uploads_missing`.

Leftovers of a backup interrupted in the same folder (its staging folder, its staged archive)
are removed by the next backup there once no process holds them and they are an hour old.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kernel.data_dir import (
    BLOBS_FOLDER,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    ERASURES_FILE,
    KEYS_FOLDER,
    SECRET_BOX_FILE,
)
from kernel.settings import Settings
from kernel.version import __version__
from posture.audit_checkpoint_file import JsonLinesFile
from posture.backup import sealing
from posture.backup.archive_writer import ArchiveWriter
from posture.backup.manifest import (
    CHECKPOINT_MEMBER,
    ERASURES_MEMBER,
    MAX_SEALED_BYTES,
    POSTGRES_MEMBER,
    SEALED_MEMBER,
    SQLITE_MEMBER,
    UPLOADS_PREFIX,
    ArchiveMember,
    BackupError,
    CheckpointCopy,
    DatabaseSnapshot,
    Manifest,
    SealedSecrets,
    sealing_context,
)
from posture.backup.sqlite_copy import DatabaseFacts, copy_live, sqlite_path

DIGEST = re.compile(r"^[0-9a-f]{64}$")
STAGING_PREFIX = ".assure-backup-"
# tempfile.mkdtemp(prefix=STAGING_PREFIX) folders, and ArchiveWriter's staged archives.
LEFTOVER = re.compile(r"^(?:\.assure-backup-[a-z0-9_]{8}|\..+\.[0-9a-f]{16}\.part)$")
LEFTOVER_AGE_S = 3600
ATTESTATION_KEYS = "attestation-keys.json"  # pq_crypto.attestation.load_or_create_keys


@dataclass(frozen=True)
class BackupTaken:
    path: Path
    manifest: Manifest
    size_bytes: int
    seconds: float
    leftovers_removed: list[str]


def secret_files(data_dir: Path) -> dict[str, bytes]:
    """The files a backup seals: every key in the keys folder, the secret box, the config."""
    found: dict[str, bytes] = {}
    keys = data_dir / KEYS_FOLDER
    if keys.is_dir():
        for entry in sorted(os.scandir(keys), key=lambda e: e.name):
            # Staged copies (".name.part") are a writer's, not yet keys.
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                found[f"{KEYS_FOLDER}/{entry.name}"] = Path(entry.path).read_bytes()
    for name in (SECRET_BOX_FILE, CONFIG_FILE):
        if (data_dir / name).is_file():
            found[name] = (data_dir / name).read_bytes()
    return found


def key_fingerprint(data_dir: Path) -> str | None:
    """The fingerprint of the keys that sign audit checkpoints; never creates keys."""
    if not (data_dir / KEYS_FOLDER / ATTESTATION_KEYS).is_file():
        return None
    from pq_crypto.attestation import load_or_create_keys

    try:
        return load_or_create_keys(data_dir / KEYS_FOLDER).fingerprint
    except (OSError, ValueError, KeyError) as exc:
        raise BackupError(
            f"cannot read the signing keys in {data_dir / KEYS_FOLDER}: {exc}"
        ) from None


def _checkpoints(data_dir: Path, name: str = CHECKPOINT_FILE) -> tuple[bytes | None, int]:
    read = JsonLinesFile(data_dir / name).read()
    if not read.exists:
        return None, 0
    return b"".join(line + b"\n" for _, line in read.lines), len(read.lines)


def _database(settings: Settings, staging: Path) -> tuple[DatabaseSnapshot, Path, DatabaseFacts]:
    if settings.uses_sqlite:
        staged = staging / "assure.db"
        facts = copy_live(sqlite_path(settings.effective_database_url), staged)
        snapshot = DatabaseSnapshot(
            backend="sqlite",
            member=SQLITE_MEMBER,
            schema_revision=facts.schema_revision,
            table_rows=facts.table_rows,
        )
        return snapshot, staged, facts
    from posture.backup.postgres_copy import dump_live
    from posture.storage.engine import build_engine

    staged = staging / "assure.pgdump"
    engine = build_engine(settings)
    try:
        facts, schema, version = dump_live(engine, staged)
    finally:
        engine.dispose()
    snapshot = DatabaseSnapshot(
        backend="postgresql",
        member=POSTGRES_MEMBER,
        schema_revision=facts.schema_revision,
        table_rows=facts.table_rows,
        postgres_schema=schema,
        dump_tool=version,
    )
    return snapshot, staged, facts


def _copy_uploads(archive: ArchiveWriter, folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    digests = sorted(
        entry.name
        for entry in os.scandir(folder)
        if DIGEST.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
    )
    copied = []
    for digest in digests:
        try:
            archive.add_file(f"{UPLOADS_PREFIX}{digest}", folder / digest, expected_sha256=digest)
        except FileNotFoundError:
            # Deleted since it was listed (the retention sweep): nothing of it was written.
            continue
        copied.append(digest)
    return copied


def _newest_change(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for entry in os.scandir(path):
            newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def remove_leftovers(folder: Path, now: float) -> list[str]:
    """Remove what interrupted backups left in `folder`: names only a backup makes, an hour
    old, and not locked by a backup still running. The names removed."""
    removed = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        try:
            if not LEFTOVER.fullmatch(entry.name) or entry.is_symlink():
                continue
            if now - _newest_change(path) < LEFTOVER_AGE_S:
                continue
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a backup still running holds it
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(entry.name)
        finally:
            os.close(descriptor)
    return removed


def _sealed(
    archive: ArchiveWriter, draft: Manifest, secrets: dict[str, bytes], passphrase: str
) -> Manifest:
    """Seal the secrets with the manifest as associated data, then list the sealed member."""
    assert draft.sealed is not None
    context = sealing_context(draft)
    sealed = sealing.seal(secrets, passphrase, draft.sealed.kdf, draft.sealed.nonce, context)
    if len(sealed) > MAX_SEALED_BYTES:
        raise BackupError(
            f"the keys folder, secret box and config seal to {len(sealed)} bytes, more than the "
            f"{MAX_SEALED_BYTES} a restore accepts: move what is not a key out of the keys folder"
        )
    member = archive.add_bytes(SEALED_MEMBER, sealed)
    listed = [m for m in draft.members if m.name != SEALED_MEMBER] + [member]
    return Manifest.model_validate({**draft.model_dump(), "members": listed})


def _write(settings: Settings, target: Path, passphrase: str | None) -> tuple[Manifest, int]:
    """The archive, in the order the module's docstring gives; keys sealed when `passphrase`."""
    data_dir = settings.data_dir.resolve()
    include_keys = passphrase is not None
    secrets = secret_files(data_dir) if include_keys else {}
    fingerprint = key_fingerprint(data_dir)
    with ArchiveWriter(target) as archive:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
        # Locked while this backup lives: the next one leaves it alone until then.
        staging_lock = os.open(staging, os.O_RDONLY)
        fcntl.flock(staging_lock, fcntl.LOCK_EX)
        try:
            checkpoint, lines = _checkpoints(data_dir)
            snapshot, staged, facts = _database(settings, staging)
            archive.add_file(snapshot.member, staged)
            staged.unlink()
            if checkpoint is not None:
                archive.add_bytes(CHECKPOINT_MEMBER, checkpoint)
            # After the snapshot, unlike the checkpoints: an erasure signs its record before it
            # commits, so every erasure the snapshot holds has its record in the file by now.
            erasures, _ = _checkpoints(data_dir, ERASURES_FILE)
            if erasures is not None:
                archive.add_bytes(ERASURES_MEMBER, erasures)
            uploads = _copy_uploads(archive, data_dir / BLOBS_FOLDER)
            placeholder = ArchiveMember(name=SEALED_MEMBER, size=0, sha256="0" * 64)
            manifest = Manifest(
                created_at=datetime.now(UTC).replace(microsecond=0),
                software_version=__version__,
                database=snapshot,
                checkpoint=CheckpointCopy(
                    included=checkpoint is not None, lines=lines, key_fingerprint=fingerprint
                ),
                erasures_included=erasures is not None,
                uploads=uploads,
                uploads_missing=sorted(facts.upload_digests - set(uploads)),
                keys_included=include_keys,
                sealed=SealedSecrets(
                    nonce=sealing.new_nonce(), kdf=sealing.new_kdf(), files=sorted(secrets)
                )
                if include_keys
                else None,
                members=[*archive.members, *([placeholder] if include_keys else [])],
            )
            if passphrase is not None:
                manifest = _sealed(archive, manifest, secrets, passphrase)
            size = archive.finish(manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            os.close(staging_lock)
    return manifest, size


def take_backup(
    settings: Settings, target: Path, passphrase: str | None, *, include_keys: bool
) -> BackupTaken:
    """Write a backup of the estate `settings` name to the new file `target`."""
    started = time.monotonic()
    # Resolved: a link or ".." must not hide that the target is inside the data folder.
    data_dir = settings.data_dir.resolve()
    target = target.absolute().parent.resolve() / target.name
    if not data_dir.is_dir():
        raise BackupError(f"data folder {data_dir} does not exist; nothing to back up")
    if target.is_relative_to(data_dir):
        raise BackupError("write the backup outside the data folder it backs up")
    if include_keys:
        if passphrase is None:
            raise BackupError(
                "a backup includes the signing keys sealed with a passphrase: give one with "
                "--passphrase-file or ASSURE_BACKUP_PASSPHRASE, or leave the keys out with "
                "--exclude-keys"
            )
        sealing.check_passphrase(passphrase)
    try:
        removed = remove_leftovers(target.parent, time.time()) if target.parent.is_dir() else []
        manifest, size = _write(settings, target, passphrase if include_keys else None)
    except OSError as exc:
        raise BackupError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    return BackupTaken(target, manifest, size, time.monotonic() - started, removed)
