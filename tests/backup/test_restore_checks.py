"""What a backup does with a damaged live store, and what a restore proves before it reports
success: rows counted as the manifest says (or the restore is undone, on both backends), the
right backend and a schema this release knows, a config that would point elsewhere set aside."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import take_backup
from posture.storage import migrate
from posture.storage.engine import build_engine
from tests.backup.crafting import edit_manifest, members_of, written
from tests.backup.estate import (
    EVIDENCE,
    PASSPHRASE,
    empty_schema,
    schema_of,
    seed_estate,
    settings_for,
)
from tests.conftest import POSTGRES_URL


def test_a_damaged_upload_in_the_live_store_stops_the_backup_by_name(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    digest = hashlib.sha256(EVIDENCE[1]).hexdigest()
    (source / "uploads" / digest).write_bytes(b"bit rot")
    with pytest.raises(BackupError, match=f"uploads/{digest} does not match its SHA-256"):
        take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_file_missing_from_the_live_store_is_recorded_not_hidden(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    digest = hashlib.sha256(EVIDENCE[0]).hexdigest()
    (source / "uploads" / digest).unlink()
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    assert taken.manifest.uploads_missing == [digest]
    report = restore_backup(
        settings_for(tmp_path / "r"), taken.path, None, skip_keys=False, accept_unauthenticated=True
    )
    assert report.checks.copy_faithful
    assert any("already missing" in warning for warning in report.checks.warnings)


def _lying_counts(archive: Path, out: Path) -> Path:
    def lie(document: dict) -> None:
        document["database"]["table_rows"]["products"] += 1

    return written(out, edit_manifest(members_of(archive), lie))


def test_rows_that_differ_from_the_manifest_undo_the_restore(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=r"table products holds .* the restore was undone"):
        restore_backup(
            settings_for(target),
            _lying_counts(taken.path, tmp_path / "lie.tar"),
            None,
            skip_keys=False,
            accept_unauthenticated=True,
        )
    assert not target.exists()


@pytest.mark.postgres
def test_rows_that_differ_from_the_manifest_leave_the_postgresql_schema_empty_again(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    source = tmp_path / "data"
    seed_estate(source, postgres_schema_url)
    taken = take_backup(
        settings_for(source, postgres_schema_url), tmp_path / "b.tar", None, include_keys=False
    )
    schema = schema_of(postgres_schema_url)
    empty_schema(postgres_schema_url)
    admin = create_engine(POSTGRES_URL)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match="the restore was undone"):
        restore_backup(
            settings_for(target, postgres_schema_url),
            _lying_counts(taken.path, tmp_path / "lie.tar"),
            None,
            skip_keys=False,
            accept_unauthenticated=True,
        )
    assert not target.exists()
    with admin.connect() as connection:
        left = connection.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s"
            ),
            {"s": schema},
        ).scalar_one()
        functions = connection.execute(
            text(
                "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = :s"
            ),
            {"s": schema},
        ).scalar_one()
    admin.dispose()
    assert (left, functions) == (0, 0)


@pytest.mark.postgres
def test_a_sqlite_backup_is_not_restored_into_postgresql(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match="holds a sqlite database and the target is postgresql"):
        restore_backup(
            settings_for(target, postgres_schema_url),
            taken.path,
            None,
            skip_keys=False,
            accept_unauthenticated=True,
        )
    assert not target.exists()


def test_a_backup_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)

    def newer(document: dict) -> None:
        document["database"]["schema_revision"] = "0999_from_the_future"

    archive = written(tmp_path / "newer.tar", edit_manifest(members_of(taken.path), newer))
    with pytest.raises(BackupError, match="0999_from_the_future was made by a newer release"):
        restore_backup(
            settings_for(tmp_path / "r"),
            archive,
            None,
            skip_keys=False,
            accept_unauthenticated=True,
        )
    assert not (tmp_path / "r").exists()


def test_a_config_naming_another_database_is_set_aside(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    (source / "assure.toml").write_text(
        '[assure]\napi_rate_limit = "100/minute"\n'
        'database_url = "sqlite:////srv/old-host/assure.db"\n'
    )
    # The environment's URL wins over the config's, as on the old host it did not.
    here = settings_for(source, f"sqlite:///{source / 'assure.db'}")
    taken = take_backup(here, tmp_path / "b.tar", PASSPHRASE, include_keys=True)
    assert "assure.toml" in taken.manifest.sealed.files  # type: ignore[union-attr]
    target = tmp_path / "restored"
    report = restore_backup(settings_for(target), taken.path, PASSPHRASE, skip_keys=False)
    assert not (target / "assure.toml").exists()
    assert "old-host" in (target / "assure.toml.from-backup").read_text()
    assert any("assure.toml.from-backup" in note for note in report.notes)


def test_a_backup_of_an_older_schema_restores_as_it_was_and_says_to_upgrade(
    tmp_path: Path,
) -> None:
    scripts = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    previous = scripts.get_revision(migrate.head_revision()).down_revision
    assert isinstance(previous, str)
    source = tmp_path / "data"
    source.mkdir(mode=0o700)
    engine = build_engine(settings_for(source))
    migrate.upgrade(engine, previous)
    engine.dispose()
    taken = take_backup(settings_for(source), tmp_path / "b.tar", None, include_keys=False)
    assert taken.manifest.database.schema_revision == previous
    report = restore_backup(
        settings_for(tmp_path / "r"), taken.path, None, skip_keys=False, accept_unauthenticated=True
    )
    assert report.checks.copy_faithful
    assert report.checks.audit is None
    assert "assure db upgrade" in (report.checks.audit_skipped or "")
    restored = build_engine(settings_for(tmp_path / "r"))
    assert migrate.current_revision(restored) == previous
    restored.dispose()
