"""`assure audit verify` finds an edited, deleted or reordered audit row and exits non-zero."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli import assure, cli_env


@pytest.fixture(scope="module")
def audited_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a seeded estate and three admins, built once through the CLI."""
    data_dir = tmp_path_factory.mktemp("audited") / "data"
    env = cli_env(data_dir)
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "1", "--as-of", "2026-11-01", env=env)
    assert seeded.returncode == 0
    for index in range(3):
        created = assure(
            "admin",
            "create",
            "--email",
            f"admin{index}@assure.police.uk",
            "--name",
            f"Admin {index}",
            "--password-stdin",
            env=env,
            input_text="a long and unusual passphrase\n",
        )
        assert created.returncode == 0, created.stderr
    return data_dir


@pytest.fixture
def audited_env(audited_template: Path, sqlite_env: dict[str, str]) -> dict[str, str]:
    # Each test tampers with the trail, so each gets its own copy of the database.
    shutil.copytree(audited_template, sqlite_env["ASSURE_DATA_DIR"])
    return sqlite_env


def _db(env: dict[str, str]) -> Path:
    return Path(env["ASSURE_DATA_DIR"]) / "assure.db"


def _verify(env: dict[str, str]) -> tuple[int, dict]:
    result = assure("audit", "verify", "--json", env=env)
    return result.returncode, json.loads(result.stdout)


def test_an_untouched_trail_verifies(audited_env: dict[str, str]) -> None:
    code, report = _verify(audited_env)
    assert code == 0
    assert report["intact"]
    assert report["events_checked"] == 4


def test_an_edited_row_is_found(audited_env: dict[str, str]) -> None:
    with sqlite3.connect(_db(audited_env)) as connection:
        connection.execute("UPDATE audit_events SET actor_label = 'mallory' WHERE id = 3")
    code, report = _verify(audited_env)
    assert code == 1
    assert report["first_break"]["event_id"] == 3


def test_a_deleted_row_is_found(audited_env: dict[str, str]) -> None:
    with sqlite3.connect(_db(audited_env)) as connection:
        connection.execute("DELETE FROM audit_events WHERE id = 2")
    code, report = _verify(audited_env)
    assert code == 1
    assert report["first_break"]["event_id"] == 3


def test_reordered_rows_are_found(audited_env: dict[str, str]) -> None:
    with sqlite3.connect(_db(audited_env)) as connection:
        connection.execute("UPDATE audit_events SET id = 100 WHERE id = 2")
        connection.execute("UPDATE audit_events SET id = 2 WHERE id = 3")
        connection.execute("UPDATE audit_events SET id = 3 WHERE id = 100")
    code, report = _verify(audited_env)
    assert code == 1
    assert report["first_break"]["event_id"] == 2
    text = assure("audit", "verify", env=audited_env)
    assert "audit trail broken at event 2" in text.stderr
