"""A backup restores to an identical estate on both backends: every table row for row, every
upload by hash, the keys (tokens issued before still verify) and an intact audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kernel.data_dir import KEYS_FOLDER, SECRET_BOX_FILE
from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import key_fingerprint, take_backup
from posture.identity.tokens import signing_key
from tests.backup.estate import (
    EVIDENCE,
    PASSPHRASE,
    blob_hashes,
    empty_schema,
    fingerprints_of,
    schema_of,
    seed_estate,
    settings_for,
)
from tests.conftest import POSTGRES_URL


def _same_estate(source: Path, restored: Path, url: str | None = None) -> None:
    assert fingerprints_of(settings_for(restored, url)) == fingerprints_of(
        settings_for(source, url)
    )
    assert blob_hashes(restored) == blob_hashes(source)
    assert len(blob_hashes(restored)) == len(EVIDENCE)


def test_a_sqlite_estate_restores_row_for_row_with_its_keys_and_trail(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    taken = take_backup(
        settings_for(source), tmp_path / "estate.tar", PASSPHRASE, include_keys=True
    )
    assert (tmp_path / "estate.tar").stat().st_mode & 0o777 == 0o600
    assert taken.manifest.keys_included
    assert len(taken.manifest.uploads) == len(EVIDENCE)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"

    restored = tmp_path / "restored"
    report = restore_backup(settings_for(restored), taken.path, PASSPHRASE, skip_keys=False)

    assert report.checks.copy_faithful
    assert report.checks.audit is not None
    assert report.checks.audit.intact
    assert report.checks.audit.events_covered > 0
    assert report.keys_restored
    _same_estate(source, restored)
    for name in ("api-token-ed25519.pem", "attestation-keys.json"):
        assert (restored / KEYS_FOLDER / name).read_bytes() == (
            source / KEYS_FOLDER / name
        ).read_bytes()
        assert (restored / KEYS_FOLDER / name).stat().st_mode & 0o777 == 0o600
    assert (restored / SECRET_BOX_FILE).read_bytes() == (source / SECRET_BOX_FILE).read_bytes()
    assert signing_key(settings_for(restored)).kid == signing_key(settings_for(source)).kid


def test_keys_left_out_are_named_and_the_trail_still_verifies_by_fingerprint(
    tmp_path: Path,
) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    taken = take_backup(settings_for(source), tmp_path / "nokeys.tar", None, include_keys=False)
    assert not taken.manifest.keys_included
    assert taken.manifest.checkpoint.key_fingerprint is not None

    restored = tmp_path / "restored"
    # Nothing authenticates a keyless archive: the operator accepts it and vouches for the keys.
    report = restore_backup(
        settings_for(restored),
        taken.path,
        None,
        skip_keys=False,
        accept_unauthenticated=True,
        fingerprint=key_fingerprint(source),
    )

    assert not report.keys_restored
    assert not (restored / KEYS_FOLDER).exists()
    assert not (restored / SECRET_BOX_FILE).exists()
    assert any("keys/" in note and "secret-box.key" in note for note in report.notes)
    # Checkpoints are checked against the fingerprint the operator gave, not refused.
    assert report.checks.audit is not None
    assert report.checks.audit.intact
    _same_estate(source, restored)


def test_a_backup_without_a_passphrase_or_exclude_keys_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    with pytest.raises(BackupError, match="--exclude-keys"):
        take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=True)
    with pytest.raises(BackupError, match="at least 12"):
        take_backup(settings_for(source), tmp_path / "b.tar", "short", include_keys=True)
    assert not (tmp_path / "b.tar").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_an_existing_archive_is_never_replaced(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    (tmp_path / "b.tar").write_bytes(b"an earlier backup")
    with pytest.raises(BackupError, match="exists"):
        take_backup(settings_for(source), tmp_path / "b.tar", PASSPHRASE, include_keys=True)
    assert (tmp_path / "b.tar").read_bytes() == b"an earlier backup"


@pytest.mark.postgres
def test_a_postgresql_estate_restores_into_its_emptied_schema(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    source = tmp_path / "data"
    seed_estate(source, postgres_schema_url)
    before = fingerprints_of(settings_for(source, postgres_schema_url))
    taken = take_backup(
        settings_for(source, postgres_schema_url),
        tmp_path / "pg.tar",
        PASSPHRASE,
        include_keys=True,
    )
    assert taken.manifest.database.backend == "postgresql"
    assert taken.manifest.database.dump_tool
    assert "pg_dump" in taken.manifest.database.dump_tool

    restored = tmp_path / "restored"
    # The live schema is not empty: refused, and the data folder is not even made.
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(
            settings_for(restored, postgres_schema_url), taken.path, PASSPHRASE, skip_keys=False
        )
    assert not restored.exists()

    empty_schema(postgres_schema_url)
    report = restore_backup(
        settings_for(restored, postgres_schema_url), taken.path, PASSPHRASE, skip_keys=False
    )
    assert report.checks.copy_faithful
    assert report.checks.audit is not None
    assert report.checks.audit.intact
    assert fingerprints_of(settings_for(restored, postgres_schema_url)) == before
    assert blob_hashes(restored) == blob_hashes(source)


@pytest.mark.postgres
def test_a_postgresql_backup_restores_into_a_schema_named_otherwise(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    source = tmp_path / "data"
    seed_estate(source, postgres_schema_url)
    before = fingerprints_of(settings_for(source, postgres_schema_url))
    taken = take_backup(
        settings_for(source, postgres_schema_url), tmp_path / "pg.tar", None, include_keys=False
    )
    schema = schema_of(postgres_schema_url)
    other = f"{schema}_restored"
    other_url = postgres_schema_url.replace(f"%3D{schema}", f"%3D{other}")
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{other}"'))
    try:
        # The backup's own schema still exists beside the target: refused.
        with pytest.raises(BackupError, match="exists in the target database"):
            restore_backup(
                settings_for(tmp_path / "r1", other_url),
                taken.path,
                None,
                skip_keys=False,
                accept_unauthenticated=True,
            )
        assert not (tmp_path / "r1").exists()
        with admin.begin() as connection:
            connection.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_aside"'))
        try:
            report = restore_backup(
                settings_for(tmp_path / "r2", other_url),
                taken.path,
                None,
                skip_keys=False,
                accept_unauthenticated=True,
                fingerprint=key_fingerprint(source),
            )
            assert report.checks.copy_faithful
            assert report.checks.audit is not None
            assert report.checks.audit.intact
            assert fingerprints_of(settings_for(tmp_path / "r2", other_url)) == before
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'ALTER SCHEMA "{schema}_aside" RENAME TO "{schema}"'))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{other}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_without_pg_dump_on_the_path_the_backup_names_what_to_install(
    tmp_path: Path, postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    seed_estate(source, postgres_schema_url)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(BackupError, match="pg_dump is not on the PATH; install the PostgreSQL"):
        take_backup(
            settings_for(source, postgres_schema_url),
            tmp_path / "pg.tar",
            None,
            include_keys=False,
        )
    assert not (tmp_path / "pg.tar").exists()
