"""`assure score`: JSON for the estate, snapshots, explain, and one-line refusals."""

from __future__ import annotations

import json

import pytest

from tests.cli import assure


@pytest.fixture
def seeded_env(sqlite_env: dict[str, str]) -> dict[str, str]:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "6", "--as-of", "2026-11-01", env=sqlite_env)
    assert seeded.returncode == 0, seeded.stderr
    return sqlite_env


def test_score_json_with_snapshot(seeded_env: dict[str, str]) -> None:
    result = assure("score", "--json", "--snapshot", "--as-of", "2026-11-01", env=seeded_env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["subjects"] == payload["snapshots_stored"] == 49
    assert {row["band"] for row in payload["scores"]} <= set("ABCDE")


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
