"""What a live run against the flawed app (tests/peers/apis.py) is reported with: a request and
its answer for every operation a finding names, credentials filtered, restatements of ignored
authentication folded into it, and the same findings from two runs with the same flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.evidence import SECRET_REDACTED, curl
from checks.api.live import LiveSettings
from checks.egress import EgressPolicy
from checks.report import CheckReport
from tests.peers.apis import build_spec, serving_api

LOOPBACK = EgressPolicy.loopback_only()
TOKENS = ["token-alice", "token-bob"]
# Bounded by examples only; the budget is just the hard limit, far past what the run takes.
EXAMPLES_ONLY = LiveSettings(max_examples=25, budget_seconds=150)


def _run(folder: Path, settings: LiveSettings) -> CheckReport:
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(build_spec(True)))
    with serving_api(True) as url:
        return run_api_check(str(spec), LOOPBACK, url, TOKENS, settings)


def _live(report: CheckReport) -> list:
    return [f for f in report.findings if f.code.startswith("ST")]


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    return _run(tmp_path_factory.mktemp("first"), EXAMPLES_ONLY)


def test_every_live_finding_has_a_request_and_answer_for_each_operation_it_names(
    flawed: CheckReport,
) -> None:
    assert _live(flawed), "the flawed app gave no live finding"
    for item in _live(flawed):
        evidence = item.evidence
        assert evidence["curl"].startswith("curl -X "), item.code
        samples = evidence["samples"]
        assert samples, f"{item.code} has no sample"
        assert {s["operation"] for s in samples} >= {
            op for op in evidence["operations"] if op != "Stateful tests"
        } or evidence["samples_left_out"], item.code
        for sample in samples:
            assert sample["curl"].startswith("curl -X ")
            assert isinstance(sample["response_status"], int), (item.code, sample)
            assert sample["message"], (item.code, sample)


def test_a_server_error_says_what_the_server_answered(flawed: CheckReport) -> None:
    [error] = [f for f in flawed.findings if f.code == "ST101"]
    assert "GET /v1/search" in error.evidence["operations"]
    assert "answered HTTP 500" in error.evidence["message"]
    assert "Internal error" in error.evidence["message"]  # the problem document's title


def test_ignored_authentication_is_one_finding_with_its_restatements_folded_in(
    flawed: CheckReport,
) -> None:
    codes = [f.code for f in flawed.findings]
    [ignored] = [f for f in flawed.findings if f.code == "ST401"]
    folded = {(r["code"], r["operation"]) for r in ignored.evidence["also_reported"]}
    assert ("ST203", "GET /v1/report") in folded
    assert ("ST201", "GET /v1/report") in folded
    assert "ST203" not in codes  # it restated ST401 on its only operation
    # The invalid body accepted by POST /v1/notes is a fault of its own and stays.
    [negative] = [f for f in flawed.findings if f.code == "ST201"]
    assert negative.evidence["operations"] == ["POST /v1/notes"]
    assert all(s["operation"] == "POST /v1/notes" for s in negative.evidence["samples"])


def test_no_credential_reaches_the_evidence(flawed: CheckReport) -> None:
    text = json.dumps([f.evidence for f in _live(flawed)])
    assert "token-alice" not in text
    assert "token-bob" not in text
    assert SECRET_REDACTED in text  # the authenticated requests are there, their tokens are not


def test_cookies_and_api_keys_are_filtered_like_authorization() -> None:
    line = curl(
        {
            "method": "GET",
            "uri": "http://127.0.0.1/v1/report",
            "headers": {
                "Cookie": ["session=secret-cookie"],
                "X-API-Key": ["secret-key"],
                "Accept": ["application/json"],
            },
        }
    )
    assert "secret" not in line
    assert line.count(SECRET_REDACTED) == 2
    assert "Accept: application/json" in line


def test_an_examples_bounded_run_completes_without_a_time_limit(flawed: CheckReport) -> None:
    live = flawed.details["live"]
    assert "--max-time" not in live["command"]
    assert live["stop_reason"] == "completed"
    assert not live["stopped_for_time"]
    assert live["operations_not_reached"] == []


def test_two_runs_with_identical_flags_give_identical_findings(
    flawed: CheckReport, tmp_path: Path
) -> None:
    again = _run(tmp_path, EXAMPLES_ONLY)

    def seen(report: CheckReport) -> list[tuple[str, tuple[str, ...]]]:
        return sorted((f.code, tuple(sorted(f.evidence["operations"]))) for f in _live(report))

    assert seen(again) == seen(flawed)


def test_a_time_budget_reports_that_the_run_stopped_for_time(tmp_path: Path) -> None:
    settings = LiveSettings(max_examples=1000, budget_seconds=6, time_budget=True)
    report = _run(tmp_path, settings)
    live = report.details["live"]
    assert "--max-time" in live["command"]
    assert live["stop_reason"] == "max_time"
    assert live["stopped_for_time"]


def test_an_examples_run_past_its_hard_limit_keeps_what_it_found_and_fails_the_gate(
    tmp_path: Path,
) -> None:
    # 300 examples take about 40 s here and the first failures come within 3 s; the child is
    # interrupted half a margin past the budget (at 10 s) and killed at the end of the margin.
    settings = LiveSettings(max_examples=300, budget_seconds=5, hard_limit_margin=10)
    report = _run(tmp_path, settings)
    live = report.details["live"]
    assert live["timed_out"]
    assert live["stop_reason"] == "interrupted"
    assert live["stopped_for_time"]
    codes = {f.code for f in report.findings}
    assert "API-LIVE-002" in codes  # a cut run fails closed...
    assert "ST401" in codes  # ...and still shows what it had found by then
    assert "API-LIVE-002" in report.details["gate_failed"]
