"""`assure score`: JSON for the estate, snapshots, explain, and one-line refusals."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from kernel.data_dir import DATABASE_FILE
from tests.cli import assure, cli_env


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory upgraded and seeded once through the CLI; tests score copies of it."""
    data_dir = tmp_path_factory.mktemp("seeded-estate") / "data"
    env = cli_env(data_dir)
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "6", "--as-of", "2026-11-01", env=env)
    assert seeded.returncode == 0, seeded.stderr
    return data_dir


@pytest.fixture
def seeded_env(seeded_template: Path, sqlite_env: dict[str, str]) -> dict[str, str]:
    # Scoring writes (snapshots, kept encodings): each test gets its own copy of the seeded
    # estate, so a first run is always the first.
    shutil.copytree(seeded_template, sqlite_env["ASSURE_DATA_DIR"])
    return sqlite_env


def test_score_json_with_snapshot(seeded_env: dict[str, str]) -> None:
    result = assure("score", "--json", "--snapshot", "--as-of", "2026-11-01", env=seeded_env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["subjects"] == payload["snapshots_stored"] == 49
    assert {row["band"] for row in payload["scores"]} <= set("ABCDE")


def test_a_rerun_scores_from_the_encodings_the_first_run_kept(
    seeded_env: dict[str, str],
) -> None:
    first = assure("score", "--json", "--as-of", "2026-11-01", env=seeded_env)
    assert first.returncode == 0, first.stderr
    database = Path(seeded_env["ASSURE_DATA_DIR"]) / DATABASE_FILE
    with sqlite3.connect(database) as connection:
        kept, layouts = connection.execute(
            "SELECT count(*), count(DISTINCT layout) FROM answer_encodings"
        ).fetchone()
        # Each kept encoding is labelled with its assessment's answers revision at the time.
        stale = connection.execute(
            "SELECT count(*) FROM answer_encodings e JOIN assessments a "
            "ON a.id = e.assessment_id WHERE a.answers_revision != e.revision"
        ).fetchone()[0]
    assert (kept, layouts, stale) == (49, 1, 0)
    again = assure("score", "--json", "--as-of", "2026-11-01", env=seeded_env)
    assert json.loads(again.stdout)["scores"] == json.loads(first.stdout)["scores"]


def test_score_one_entity_and_explain_it(seeded_env: dict[str, str]) -> None:
    one = json.loads(assure("score", "--entity", "kent", "--json", env=seeded_env).stdout)
    assert [row["label"] for row in one["scores"]] == ["Kent Police"]
    explained = assure("score", "explain", "kent", "--json", env=seeded_env)
    report = json.loads(explained.stdout)
    assert report["score"] == one["scores"][0]["score"]
    assert report["profile"] == "force-baseline"
    assert all("rule" in outcome for outcome in report["outcomes"])


def test_explain_text_names_the_framework_and_policy(seeded_env: dict[str, str]) -> None:
    result = assure("score", "explain", "metropolitan", env=seeded_env)
    assert result.returncode == 0
    assert "ptsbd 1.0, scoring policy 1.0" in result.stdout


def test_an_unknown_entity_is_one_line_and_exit_2(seeded_env: dict[str, str]) -> None:
    result = assure("score", "explain", "atlantis", env=seeded_env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no entity 'atlantis'; use an organisation slug, org:<id> or product:<id>"
    )
