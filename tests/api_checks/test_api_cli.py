"""`assure check api`: lint-only and live runs, exports, and exit codes for CI pipelines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import assure
from tests.peers.apis import build_spec, serving_api

TWILIO = Path(__file__).resolve().parents[1] / "data" / "openapi" / "twilio_api_v2010.json"


@pytest.fixture
def loopback_env(sqlite_env: dict[str, str]) -> dict[str, str]:
    return {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}


def _spec(tmp_path: Path, flawed: bool) -> str:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(build_spec(flawed)))
    return str(path)


def test_lint_only_passes_a_clean_description(tmp_path: Path, sqlite_env) -> None:
    result = assure("check", "api", "--spec", _spec(tmp_path, False), "--json", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["subscores"]["runtime_conformance"] is None
    assert report["details"]["provisional"]
    assert report["score"] == 100


def test_a_large_real_description_is_linted(sqlite_env) -> None:
    result = assure("check", "api", "--spec", str(TWILIO), "--json", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["details"]["spec_bytes"] > 1_000_000
    assert {"API-005", "API-012"} <= {f["code"] for f in report["findings"]}


def test_an_unassessable_description_exits_1(tmp_path: Path, sqlite_env) -> None:
    path = tmp_path / "swagger.json"
    path.write_text('{"swagger": "2.0"}')
    result = assure("check", "api", "--spec", str(path), env=sqlite_env)
    assert result.returncode == 1
    assert "API-000" in result.stdout


def test_a_live_run_with_gates_fails_the_pipeline_and_writes_exports(
    tmp_path: Path, loopback_env
) -> None:
    sarif, junit = tmp_path / "out.sarif", tmp_path / "out.xml"
    with serving_api(flawed=True) as url:
        result = assure(
            "check",
            "api",
            "--spec",
            _spec(tmp_path, True),
            "--base-url",
            url,
            "--auth",
            "token-alice",
            "--auth2",
            "token-bob",
            "--budget",
            "10",
            "--max-examples",
            "15",
            "--sarif",
            str(sarif),
            "--junit",
            str(junit),
            env=loopback_env,
        )
    assert result.returncode == 1, result.stderr
    assert "gates failed" in result.stdout
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert "<testsuite" in junit.read_text()


def test_the_base_url_obeys_the_egress_policy(tmp_path: Path, sqlite_env) -> None:
    result = assure(
        "check",
        "api",
        "--spec",
        _spec(tmp_path, False),
        "--base-url",
        "http://127.0.0.1:9",
        env=sqlite_env,
    )
    assert result.returncode == 2
    assert "egress policy" in result.stderr


def test_examples_bound_the_live_run_unless_a_time_budget_is_asked_for(
    tmp_path: Path, loopback_env
) -> None:
    spec = _spec(tmp_path, True)
    commands = {}
    with serving_api(flawed=True) as url:
        for flag in ("--no-time-budget", "--time-budget"):
            result = assure(
                "check", "api", "--spec", spec, "--base-url", url, "--auth", "token-alice",
                "--examples", "10", "--budget", "8", flag, "--json", env=loopback_env,
            )  # fmt: skip
            assert result.returncode == 1, result.stderr  # ignored authentication: a gate
            commands[flag] = json.loads(result.stdout)["details"]["live"]
    bounded, timed = commands["--no-time-budget"], commands["--time-budget"]
    assert "--max-time" not in bounded["command"]
    assert bounded["command"][bounded["command"].index("--max-examples") + 1] == "10"
    assert bounded["stop_reason"] == "completed"
    assert timed["command"][timed["command"].index("--max-time") + 1] == "8"
