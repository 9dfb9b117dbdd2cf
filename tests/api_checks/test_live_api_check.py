"""Live API checks with schemathesis against two apps served by uvicorn on loopback."""

from __future__ import annotations

import json
import socket
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.live import LiveSettings
from checks.egress import EgressPolicy
from checks.outputs import to_junit, to_sarif
from checks.report import CheckReport
from tests.peers.apis import build_spec, serving_api

LOOPBACK = EgressPolicy.loopback_only()
QUICK = LiveSettings(max_examples=20, budget_seconds=15)
TOKENS = ["token-alice", "token-bob"]


def _run(tmp_path_factory: pytest.TempPathFactory, flawed: bool) -> CheckReport:
    folder = tmp_path_factory.mktemp("flawed" if flawed else "good")
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(build_spec(flawed)))
    with serving_api(flawed) as url:
        return run_api_check(str(spec), LOOPBACK, url, TOKENS, QUICK)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    return _run(tmp_path_factory, flawed=False)


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    return _run(tmp_path_factory, flawed=True)


def test_the_well_behaved_api_scores_at_least_95_with_no_gate(good: CheckReport) -> None:
    assert good.score is not None
    assert good.score >= 95
    assert good.details["gate_failed"] == []
    assert good.details["verdict"] == "pass"
    assert not [f for f in good.findings if f.code.startswith("ST")]
    live = good.details["live"]
    assert live["coverage"] >= 0.9
    assert not good.details["provisional"]
    assert live["seed"] == QUICK.seed


@pytest.mark.parametrize(
    ("code", "operation"),
    [
        ("ST101", "GET /v1/search"),
        ("ST401", "GET /v1/report"),
        # schemathesis finds it too (ST402), folded into the matrix's proof with real notes.
        ("API-AUTHZ-001", "GET /v1/notes/{note_id}"),
        ("ST201", "POST /v1/notes"),
    ],
    ids=["server-error", "ignored-auth", "broken-object-level-authorisation", "invalid-body"],
)
def test_each_planted_fault_is_found(flawed: CheckReport, code: str, operation: str) -> None:
    matches = [f for f in flawed.findings if f.code == code]
    assert matches, f"{code} not found"
    assert operation in matches[0].evidence["operations"]
    assert matches[0].evidence["curl"].startswith("curl -X ")
    assert "token-" not in matches[0].evidence["curl"]  # credentials never leak into evidence


def test_schemathesis_object_level_failure_is_folded_into_the_matrix_proof(
    flawed: CheckReport,
) -> None:
    proof = next(f for f in flawed.findings if f.code == "API-AUTHZ-001")
    folded = {(r["code"], r["operation"]) for r in proof.evidence["also_reported"]}
    assert ("ST402", "GET /v1/notes/{note_id}") in folded
    assert "ST402" not in {f.code for f in flawed.findings}


def test_the_plain_http_server_entry_is_found(flawed: CheckReport) -> None:
    assert [f.evidence["pointer"] for f in flawed.findings if f.code == "API-001"] == [
        "/servers/0/url"
    ]


def test_gates_fail_the_flawed_api_whatever_its_score(flawed: CheckReport) -> None:
    assert {"API-001", "ST401", "API-AUTHZ-001"} <= set(flawed.details["gate_failed"])
    assert flawed.details["verdict"] == "fail"
    assert flawed.subscores["security"] < 50


def test_sarif_and_junit_exports(flawed: CheckReport) -> None:
    sarif = to_sarif(flawed, "openapi.json")
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {"API-001", "API-AUTHZ-001"} <= rule_ids
    assert all(result["ruleId"] in rule_ids for result in run["results"])
    assert {r["level"] for r in run["results"]} <= {"error", "warning", "note"}
    suite = ET.fromstring(to_junit(flawed).split("?>", 1)[1])
    assert suite.tag == "testsuite"
    assert int(suite.get("failures", "0")) >= 4
    gate = suite.find("testcase[@name='hard gates']/failure")
    assert gate is not None
    assert "API-AUTHZ-001" in gate.get("message", "")


@pytest.fixture
def stalling_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()


def test_a_hanging_target_is_cut_off_at_the_hard_limit(tmp_path: Path, stalling_server) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(build_spec(False)))
    settings = LiveSettings(
        max_examples=5, budget_seconds=5, request_timeout=60, hard_limit_margin=1
    )
    report = run_api_check(str(spec), LOOPBACK, stalling_server, TOKENS[:1], settings)
    codes = {f.code for f in report.findings}
    assert "API-LIVE-002" in codes
    assert report.details["live"]["timed_out"]
    assert report.details["provisional"]
    # A run that never got an answer proves nothing and fails the gate, whatever the score.
    assert report.details["verdict"] == "fail"
    assert "API-LIVE-002" in report.details["gate_failed"]
