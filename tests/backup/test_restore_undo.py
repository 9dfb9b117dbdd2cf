"""A restore that fails after it began writing takes back what it wrote, and only that: a
database file someone else made meanwhile is kept, a stale SQLite side file is refused before
anything is written, an undo that fails part-way still removes the rest and keeps the reason
the restore failed, and a schema other than the manifest's counts as not faithful."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from posture.backup.archive_reader import BackupArchive
from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.restore_undo import RestoreWrites
from posture.backup.take import take_backup
from posture.storage import migrate
from tests.backup.crafting import edit_manifest, members_of, written
from tests.backup.estate import empty_schema, seed_estate, settings_for


@pytest.fixture(scope="module")
def open_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("undo")
    seed_estate(folder / "data")
    return take_backup(
        settings_for(folder / "data"), folder / "open.tar", None, include_keys=False
    ).path


def _restore(target: Path, archive: Path, database_url: str | None = None) -> None:
    restore_backup(
        settings_for(target, database_url),
        archive,
        None,
        skip_keys=False,
        accept_unauthenticated=True,
    )


def test_a_database_file_made_by_someone_else_during_the_restore_is_kept(
    open_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "elsewhere" / "assure.db"
    database.parent.mkdir()
    extract = BackupArchive.extract

    def another_process_starts_first(archive: BackupArchive, name: str, target: Path) -> None:
        if name == "database/assure.db":
            database.write_bytes(b"a database another process just made")
        extract(archive, name, target)

    monkeypatch.setattr(BackupArchive, "extract", another_process_starts_first)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match="the restore failed and was undone: File exists"):
        _restore(target, open_archive, f"sqlite:///{database}")
    assert database.read_bytes() == b"a database another process just made"
    assert not target.exists()


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_a_stale_sqlite_side_file_is_refused_and_kept(
    open_archive: Path, tmp_path: Path, suffix: str
) -> None:
    database = tmp_path / "elsewhere" / "assure.db"
    database.parent.mkdir()
    side = Path(f"{database}{suffix}")
    side.write_bytes(b"left by a crashed process")
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=f"assure.db{suffix} exists"):
        _restore(target, open_archive, f"sqlite:///{database}")
    assert side.read_bytes() == b"left by a crashed process"
    assert not target.exists()
    assert not database.exists()


def test_an_undo_whose_database_is_gone_still_removes_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "restored"
    writes = RestoreWrites(folder)
    folder.mkdir()
    (folder / "uploads").mkdir()
    (folder / "uploads" / "a-file").write_bytes(b"restored")
    database = tmp_path / "assure.db"
    database.write_bytes(b"restored database")
    Path(f"{database}-shm").write_bytes(b"")
    writes.database_file = database
    # A PostgreSQL server that no longer answers (nothing listens on port 1).
    writes.postgres = create_engine(
        "postgresql+psycopg://assure@127.0.0.1:1/assure", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(OperationalError, match=r"127\.0\.0\.1"):
        writes.remove()
    writes.postgres.dispose()
    assert not folder.exists()
    assert not database.exists()
    assert not Path(f"{database}-shm").exists()


@pytest.mark.postgres
def test_an_undo_that_fails_keeps_the_reason_the_restore_failed(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    """Read-only sessions for the platform's connection (pg_restore has its own): the restore
    writes, its checks find rows the manifest did not count, and dropping what it wrote fails."""
    source = tmp_path / "data"
    seed_estate(source, postgres_schema_url)
    taken = take_backup(
        settings_for(source, postgres_schema_url), tmp_path / "b.tar", None, include_keys=False
    )

    def lie(document: dict) -> None:
        document["database"]["table_rows"]["products"] += 1

    lying = written(tmp_path / "lie.tar", edit_manifest(members_of(taken.path), lie))
    empty_schema(postgres_schema_url)
    read_only = postgres_schema_url + "%20-cdefault_transaction_read_only%3Don"
    target = tmp_path / "restored"
    with pytest.raises(BackupError) as refused:
        _restore(target, lying, read_only)
    message = str(refused.value)
    assert message.startswith("table products holds")
    assert "undoing the restore failed too" in message
    assert "read-only transaction" in message
    assert "empty the target schema" in message
    assert not target.exists()


def test_a_schema_revision_other_than_the_manifests_undoes_the_restore(
    open_archive: Path, tmp_path: Path
) -> None:
    scripts = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    previous = scripts.get_revision(migrate.head_revision()).down_revision
    assert isinstance(previous, str)

    def older(document: dict) -> None:
        document["database"]["schema_revision"] = previous

    archive = written(tmp_path / "older.tar", edit_manifest(members_of(open_archive), older))
    target = tmp_path / "restored"
    with pytest.raises(
        BackupError, match=f"schema {migrate.head_revision()}, the manifest states {previous}"
    ):
        _restore(target, archive)
    assert not target.exists()
