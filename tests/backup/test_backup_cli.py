"""`assure db backup` and `assure db restore` as an operator runs them: the passphrase from a
file or the environment and never the command line, one-line refusals that change nothing,
and a SQLite backup that loads neither SQLAlchemy nor Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.backup.estate import PASSPHRASE, assure, seed_estate

# Runs `assure ARGS` and writes the modules it loaded to the file argv[1] as it exits.
MODULES_AT_EXIT = """\
import atexit, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["assure", *sys.argv[2:]]
runpy.run_module("assure_cli.main", run_name="__main__", alter_sys=True)
"""


def _passphrase_file(folder: Path, text: str = PASSPHRASE) -> Path:
    path = folder / "passphrase.txt"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def test_backup_and_restore_through_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    secret = _passphrase_file(tmp_path)
    archive = tmp_path / "estate.tar"

    taken = assure("db", "backup", str(archive), "--passphrase-file", str(secret), data_dir=source)
    assert taken.returncode == 0, taken.stderr
    assert "backup written to" in taken.stdout
    assert "sealed with the passphrase" in taken.stdout
    assert PASSPHRASE not in taken.stdout + taken.stderr
    assert PASSPHRASE.encode() not in archive.read_bytes()

    restored = tmp_path / "restored"
    done = assure(
        "db", "restore", str(archive), "--passphrase-file", str(secret), data_dir=restored
    )
    assert done.returncode == 0, done.stderr
    assert "audit trail intact" in done.stdout
    assert "3 uploads verified by SHA-256" in done.stdout
    current = assure("db", "current", data_dir=restored)
    assert current.returncode == 0, current.stderr
    assert "database: 0" in current.stdout

    again = assure(
        "db", "restore", str(archive), "--passphrase-file", str(secret), data_dir=restored
    )
    assert again.returncode == 2
    assert "is not empty" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_backup_needs_a_passphrase_or_exclude_keys_and_never_takes_one_as_an_argument(
    tmp_path: Path,
) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    archive = tmp_path / "b.tar"
    bare = assure("db", "backup", str(archive), data_dir=source)
    assert bare.returncode == 2
    assert "--passphrase-file or ASSURE_BACKUP_PASSPHRASE" in bare.stderr
    assert "--exclude-keys" in bare.stderr
    on_the_line = assure("db", "backup", str(archive), "--passphrase", PASSPHRASE, data_dir=source)
    assert on_the_line.returncode == 2
    assert "No such option" in on_the_line.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    from_empty = assure(
        "db", "backup", str(archive), "--passphrase-file", str(empty), data_dir=source
    )
    assert from_empty.returncode == 2
    assert "is empty" in from_empty.stderr
    assert not archive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "empty.txt"]


def test_a_wrong_passphrase_is_one_line_and_leaves_no_folder(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    archive = tmp_path / "b.tar"
    taken = assure(
        "db", "backup", str(archive), data_dir=source, ASSURE_BACKUP_PASSPHRASE=PASSPHRASE
    )
    assert taken.returncode == 0, taken.stderr
    restored = tmp_path / "restored"
    wrong = assure(
        "db",
        "restore",
        str(archive),
        data_dir=restored,
        ASSURE_BACKUP_PASSPHRASE="not the right passphrase",
    )
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: the passphrase does not open this backup's keys")
    assert len(wrong.stderr.splitlines()) == 1
    assert not restored.exists()
    # Restoring without the keys is a choice, and the restore says what to supply; the
    # passphrase still authenticates the archive, so the fingerprint it records is trusted.
    keyless = assure(
        "db",
        "restore",
        str(archive),
        "--exclude-keys",
        "--json",
        data_dir=restored,
        ASSURE_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert keyless.returncode == 0, keyless.stderr
    report = json.loads(keyless.stdout)
    assert report["keys_restored"] is False
    assert report["authenticated"] is True
    assert any("secret-box.key" in note for note in report["notes"])
    assert report["checks"]["audit"]["intact"]


def test_a_sqlite_backup_loads_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    modules_file = tmp_path / "modules.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(source)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            MODULES_AT_EXIT,
            str(modules_file),
            "db",
            "backup",
            str(tmp_path / "b.tar"),
            "--exclude-keys",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in modules_file.read_text().split()}
    assert "posture" in loaded
    assert not loaded & {"sqlalchemy", "alembic", "psycopg", "huey", "pandas", "numpy"}
