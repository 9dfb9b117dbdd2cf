"""The `assure` command: help everywhere, one-line errors, a non-zero exit, nothing half-made."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ASSURE = [sys.executable, "-m", "assure_cli.main"]
COMMANDS = [
    [],
    ["db"],
    ["db", "upgrade"],
    ["db", "downgrade"],
    ["db", "current"],
    ["demo"],
    ["demo", "seed"],
    ["serve"],
    ["worker"],
    ["version"],
]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ASSURE, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "assure")
def test_every_command_has_help(command: list[str], sqlite_env: dict[str, str]) -> None:
    result = run([*command, "--help"], sqlite_env)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_upgrade_then_seed_then_report_json(sqlite_env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], sqlite_env).returncode == 0
    result = run(
        ["demo", "seed", "--suppliers", "12", "--seed", "3", "--as-of", "2026-06-01", "--json"],
        sqlite_env,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["counts"]["products"] == 12
    assert payload["counts"]["organisations"] == 43 + 8 + 12
    assert payload["logins"] == []


def test_seed_before_upgrade_says_what_to_do(sqlite_env: dict[str, str]) -> None:
    result = run(["demo", "seed", "--suppliers", "1"], sqlite_env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "assure db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://root@127.0.0.1/test", "not supported"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot connect"),
        ("sqlite:////nonexistent-folder/x/assure.db", "does not exist"),
    ],
)
def test_a_wrong_database_url_gives_one_line_and_exit_2(
    url: str, message: str, sqlite_env: dict[str, str]
) -> None:
    result = run(["db", "upgrade"], {**sqlite_env, "ASSURE_DATABASE_URL": url})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_an_unwritable_data_directory_is_refused(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    result = run(["db", "upgrade"], {**sqlite_env, "ASSURE_DATA_DIR": str(blocker / "data")})
    assert result.returncode == 2
    assert "not writable" in result.stderr
    assert not (blocker / "data").exists()


def test_a_database_from_a_newer_release_is_refused(sqlite_env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], sqlite_env).returncode == 0
    db_file = Path(sqlite_env["ASSURE_DATA_DIR"]) / "assure.db"
    with sqlite3.connect(db_file) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999_future'")
    for command in (["db", "upgrade"], ["demo", "seed", "--suppliers", "1"]):
        result = run(command, sqlite_env)
        assert result.returncode == 2
        assert "newer release" in result.stderr
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("SELECT count(*) FROM organisations").fetchone() == (0,)


def test_version_prints_the_package_version(sqlite_env: dict[str, str]) -> None:
    from kernel.version import __version__

    result = run(["version"], sqlite_env)
    assert result.stdout.strip() == f"policetech-assure {__version__}"
