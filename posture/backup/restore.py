"""Restore a backup into an empty data folder (and, for PostgreSQL, an empty schema).

Everything that can be refused is refused before anything is written: the archive's structure
and manifest (archive_reader), the target's emptiness, the schema revision, the passphrase
(the sealed secrets are opened first, and they authenticate the whole manifest). An archive
that nothing authenticates (no sealed secrets, or restored without the passphrase) is refused
unless the operator accepts it by name, and always when a passphrase was given: a forger who
strips the sealed secrets must not have the passphrase silently ignored. Members are written
only once their bytes match the manifest; if anything fails after writing began, everything
written is removed. The restored estate is then checked (restored_checks).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kernel.data_dir import (
    BLOBS_FOLDER,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    ERASURES_FILE,
    KEYS_FOLDER,
    ensure_data_dir,
)
from kernel.settings import Settings
from posture.backup import sealing
from posture.backup.archive_reader import BackupArchive
from posture.backup.manifest import (
    CHECKPOINT_MEMBER,
    ERASURES_MEMBER,
    MAX_SEALED_BYTES,
    SEALED_MEMBER,
    UPLOADS_PREFIX,
    BackupError,
    Manifest,
    sealing_context,
)
from posture.backup.restore_undo import SQLITE_SIDE_FILES, RestoreWrites, undo
from posture.backup.restored_checks import RestoredChecks, check_restored
from posture.backup.sqlite_copy import sqlite_path

SECRET_NAME = re.compile(
    r"^(?:keys/[A-Za-z0-9][A-Za-z0-9._-]{0,120}|secret-box\.key|assure\.toml)$"
)
# Kept beside the restored folder's own config when it names another database than the one
# restored into: used as it is, it would point the restored folder at the old database.
CONFIG_SET_ASIDE = "assure.toml.from-backup"
SPACE_MARGIN = 64 * 1024 * 1024
UNAUTHENTICATED_FLAG = "--unauthenticated"


@dataclass
class RestoreReport:
    data_dir: Path
    manifest: Manifest
    seconds: float
    keys_restored: bool
    # The passphrase opened the sealed secrets, which bind the whole manifest.
    authenticated: bool
    checks: RestoredChecks
    notes: list[str] = field(default_factory=list)


def _refuse_non_empty(settings: Settings) -> None:
    folder = settings.data_dir
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise BackupError(f"{folder} is not a folder; restore into an empty data folder")
        present = sorted(os.listdir(folder))
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise BackupError(
                f"data folder {folder} is not empty ({shown}); restore into an empty or new "
                "folder (set ASSURE_DATA_DIR); nothing was changed"
            )
    if settings.uses_sqlite:
        database = sqlite_path(settings.effective_database_url)
        for suffix in ("", *SQLITE_SIDE_FILES):
            path = Path(f"{database}{suffix}")
            if path.exists() or path.is_symlink():
                raise BackupError(f"{path} exists; restore into a new database file")


def _refuse_incompatible(settings: Settings, manifest: Manifest) -> bool:
    """Refuse a backup for the other backend or from a newer release; True when the backup's
    schema is this release's newest."""
    from alembic.script import ScriptDirectory

    from posture.storage import migrate

    backend = "sqlite" if settings.uses_sqlite else "postgresql"
    if manifest.database.backend != backend:
        raise BackupError(
            f"this backup holds a {manifest.database.backend} database and the target is "
            f"{backend}; restore it with ASSURE_DATABASE_URL naming a {manifest.database.backend}"
            " database"
        )
    scripts = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    known = {script.revision for script in scripts.walk_revisions()}
    revision = manifest.database.schema_revision
    if revision is not None and revision not in known:
        raise BackupError(
            f"the backup's schema {revision} was made by a newer release "
            f"({manifest.software_version}); restore it with that release or newer"
        )
    return revision == migrate.head_revision()


def _open_secrets(
    archive: BackupArchive, passphrase: str | None, skip_keys: bool, accept_unauthenticated: bool
) -> tuple[dict[str, bytes] | None, bool]:
    """The secrets to restore (None: none), and whether the passphrase authenticated the
    manifest. Refuses an unauthenticated archive unless the operator accepted one."""
    manifest = archive.manifest
    if manifest.sealed is None:
        if passphrase is not None:
            raise BackupError(
                "a passphrase was given, but this archive holds no sealed keys, so nothing in it "
                "can be authenticated: a backup taken with a passphrase always seals its keys, "
                "and this one may have been altered to bypass it; nothing was restored (a backup "
                f"taken with --exclude-keys is restored without a passphrase, with "
                f"{UNAUTHENTICATED_FLAG})"
            )
        if not accept_unauthenticated:
            raise BackupError(
                "this archive holds no sealed keys (taken with --exclude-keys), so nothing "
                "authenticates it: whoever could write to the backup storage could have altered "
                f"it. Restore it only if you trust where it was kept, with {UNAUTHENTICATED_FLAG} "
                "and --fingerprint HEX (the audit key fingerprint the platform published); "
                "nothing was restored"
            )
        return None, False
    if passphrase is None:
        if skip_keys and accept_unauthenticated:
            return None, False
        raise BackupError(
            "this backup holds the platform's keys sealed with a passphrase: give it with "
            "--passphrase-file or ASSURE_BACKUP_PASSPHRASE (it authenticates the archive, even "
            "with --exclude-keys), or restore without the keys and unauthenticated with "
            f"--exclude-keys {UNAUTHENTICATED_FLAG}"
        )
    sealed = archive.read(SEALED_MEMBER, limit=MAX_SEALED_BYTES)
    files = sealing.unseal(
        sealed, passphrase, manifest.sealed.kdf, manifest.sealed.nonce, sealing_context(manifest)
    )
    for name in files:
        if not SECRET_NAME.fullmatch(name):
            raise BackupError(f"the sealed secrets hold {name!r}, which a backup never seals")
    return (None if skip_keys else files), True


def _refuse_short_of_space(settings: Settings, manifest: Manifest) -> None:
    probe = settings.data_dir
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if manifest.total_bytes + SPACE_MARGIN > free:
        raise BackupError(
            f"the backup needs {manifest.total_bytes} bytes and {probe} has {free} free; "
            "nothing was changed"
        )


def _new_file(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_secrets(settings: Settings, files: dict[str, bytes], notes: list[str]) -> None:
    folder = settings.data_dir
    for name, data in sorted(files.items()):
        target = folder / name
        if name.startswith(f"{KEYS_FOLDER}/"):
            target.parent.mkdir(mode=0o700, exist_ok=True)
        if name == CONFIG_FILE:
            target = folder / _config_name(settings, data, notes)
        _new_file(target, data)


def _config_name(settings: Settings, data: bytes, notes: list[str]) -> str:
    try:
        raw = tomllib.loads(data.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raw = {}
    section = raw.get("assure", raw)
    named = section.get("database_url") if isinstance(section, dict) else None
    if named is None or named == settings.database_url:
        return CONFIG_FILE
    notes.append(
        f"the backed-up config names another database than the one restored into; it is kept "
        f"as {CONFIG_SET_ASIDE}: review it and rename it to {CONFIG_FILE}"
    )
    return CONFIG_SET_ASIDE


def _write_database(archive: BackupArchive, settings: Settings, writes: RestoreWrites) -> None:
    manifest = archive.manifest
    if settings.uses_sqlite:
        target = sqlite_path(settings.effective_database_url)
        archive.extract(manifest.database.member, target)
        # Only once it is ours: a file that appeared there meanwhile is someone else's.
        writes.database_file = target
        return
    from posture.backup.postgres_copy import restore_dump
    from posture.storage.engine import build_engine

    assert manifest.database.postgres_schema is not None
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.data_dir) as work:
        dump = Path(work) / "assure.pgdump"
        archive.extract(manifest.database.member, dump)
        engine = build_engine(settings)
        try:
            restore_dump(engine, dump, manifest.database.postgres_schema, Path(work))
        except BaseException:
            # pg_restore ran in one transaction: a failed one left nothing to drop.
            engine.dispose()
            raise
        writes.postgres = engine


def _refuse_non_empty_schema(settings: Settings, manifest: Manifest) -> None:
    if settings.uses_sqlite:
        return
    from posture.backup.postgres_copy import empty_target
    from posture.storage.engine import build_engine

    assert manifest.database.postgres_schema is not None
    engine = build_engine(settings)
    try:
        empty_target(engine, manifest.database.postgres_schema)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class RestoreChoices:
    """What the operator chose: leave the keys out, accept an archive nothing authenticates,
    trust audit checkpoints signed by keys with this fingerprint."""

    skip_keys: bool = False
    accept_unauthenticated: bool = False
    fingerprint: str | None = None


def restore_backup(
    settings: Settings,
    archive_path: Path,
    passphrase: str | None,
    *,
    skip_keys: bool,
    accept_unauthenticated: bool = False,
    fingerprint: str | None = None,
) -> RestoreReport:
    """Restore `archive_path` into the empty data folder (and database) `settings` name."""
    choices = RestoreChoices(skip_keys, accept_unauthenticated, fingerprint)
    try:
        return _restore(settings, archive_path, passphrase, choices)
    except OSError as exc:
        # Whatever was written is already removed; the disk or the folder is the reason.
        raise BackupError(f"the restore failed and was undone: {exc.strerror or exc}") from None


def _restore(
    settings: Settings, archive_path: Path, passphrase: str | None, choices: RestoreChoices
) -> RestoreReport:
    started = time.monotonic()
    with BackupArchive.open(archive_path) as archive:
        manifest = archive.manifest
        schema_is_current = _refuse_incompatible(settings, manifest)
        _refuse_non_empty(settings)
        secrets, authenticated = _open_secrets(
            archive, passphrase, choices.skip_keys, choices.accept_unauthenticated
        )
        _refuse_short_of_space(settings, manifest)
        _refuse_non_empty_schema(settings, manifest)
        writes = RestoreWrites(settings.data_dir)
        notes: list[str] = []
        try:
            ensure_data_dir(settings)
            if manifest.uploads:
                (settings.data_dir / BLOBS_FOLDER).mkdir(mode=0o700)
            for digest in manifest.uploads:
                target = settings.data_dir / BLOBS_FOLDER / digest
                archive.extract(f"{UPLOADS_PREFIX}{digest}", target)
            if manifest.checkpoint.included:
                archive.extract(CHECKPOINT_MEMBER, settings.data_dir / CHECKPOINT_FILE)
            if manifest.erasures_included:
                archive.extract(ERASURES_MEMBER, settings.data_dir / ERASURES_FILE)
            if secrets is not None:
                _write_secrets(settings, secrets, notes)
            _write_database(archive, settings, writes)
            # One sync for every file written, before the restore is reported done.
            os.sync()
            checks = check_restored(
                settings,
                manifest,
                keys_restored=secrets is not None,
                schema_is_current=schema_is_current,
                authenticated=authenticated,
                fingerprint=choices.fingerprint,
            )
            if not checks.copy_faithful:
                raise BackupError(_unfaithful(checks))
        except BaseException as failure:
            undo(writes, failure)
            raise
        finally:
            if writes.postgres is not None:
                writes.postgres.dispose()
    if secrets is None:
        notes.append(_keys_note(settings, manifest))
    return RestoreReport(
        settings.data_dir,
        manifest,
        time.monotonic() - started,
        secrets is not None,
        authenticated,
        checks,
        notes,
    )


def _unfaithful(checks: RestoredChecks) -> str:
    if checks.uploads_damaged:
        return (
            f"upload {checks.uploads_damaged[0]} does not have its SHA-256 after the restore; "
            "the restore was undone"
        )
    if checks.uploads_missing:
        return (
            f"the restored rows name upload {checks.uploads_missing[0]}, which the backup does "
            "not hold; the restore was undone"
        )
    if checks.schema_mismatch:
        stated, found_revision = checks.schema_mismatch
        return (
            f"the restored database is at schema {found_revision}, the manifest states "
            f"{stated}; the restore was undone"
        )
    table, (expected, found) = next(iter(checks.row_mismatches.items()))
    return (
        f"table {table} holds {found} rows after the restore, the manifest counted {expected}; "
        "the restore was undone"
    )


def _keys_note(settings: Settings, manifest: Manifest) -> str:
    why = (
        "the backup was taken with --exclude-keys"
        if manifest.sealed is None
        else "the keys were not restored (--exclude-keys)"
    )
    return (
        f"{why}: copy the old data folder's {KEYS_FOLDER}/ and secret-box.key into "
        f"{settings.data_dir} before starting Assure, or API tokens, second-factor secrets and "
        "the audit checkpoints' signatures will not verify"
    )
