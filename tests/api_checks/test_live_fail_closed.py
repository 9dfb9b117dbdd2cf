"""The live API gate fails closed: a dead target, a hanging one or credentials the API refuses
prove nothing about it, so they fail the gate instead of lending the description's score to an
API nobody tested. Each identity given is proven or refused, and the result says when
object-level authorisation was not tested and why."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checks.api.check import run_api_check
from checks.api.identities import BolaNotTested, secured_operations
from checks.api.live import LiveSettings, read_summary
from checks.api.preflight import probe_operations
from checks.egress import EgressPolicy
from checks.report import CheckReport
from tests.peers.apis import build_spec, serving_api, serving_asgi

LOOPBACK = EgressPolicy.loopback_only()
QUICK = LiveSettings(max_examples=5, budget_seconds=10)


def _spec(folder: Path) -> str:
    path = folder / "openapi.json"
    path.write_text(json.dumps(build_spec(False)))
    return str(path)


def _against_the_clean_api(folder: Path, tokens: list[str]) -> CheckReport:
    with serving_api(False) as url:
        return run_api_check(_spec(folder), LOOPBACK, url, tokens, QUICK)


def _proofs(report: CheckReport) -> dict[str, str]:
    return {p["identity"]: p["status"] for p in report.details["live"]["identity_proofs"]}


def test_a_closed_port_fails_the_gate(tmp_path: Path) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    report = run_api_check(
        _spec(tmp_path), LOOPBACK, f"http://127.0.0.1:{port}", ["token-alice"], QUICK
    )
    assert report.details["verdict"] == "fail"
    assert {"API-LIVE-001", "API-LIVE-004"} <= set(report.details["gate_failed"])
    assert report.details["live"]["coverage"] == 0.0
    assert _proofs(report) == {"primary": "unproven"}


def test_wrong_tokens_on_a_clean_api_fail_the_gate(tmp_path: Path) -> None:
    report = _against_the_clean_api(tmp_path, ["not-a-token", "nor-this"])
    assert report.details["verdict"] == "fail"
    assert "API-LIVE-005" in report.details["gate_failed"]
    assert _proofs(report) == {"primary": "refused", "secondary": "refused"}
    refused = next(f for f in report.findings if f.code == "API-LIVE-005")
    assert refused.evidence["identities"] == ["primary", "secondary"]
    assert "not-a-token" not in json.dumps(report.model_dump(mode="json"))
    assert report.details["live"]["bola_not_tested"] == BolaNotTested.NOT_PROVEN.value


def test_one_refused_identity_of_two_fails_the_gate_and_names_it(tmp_path: Path) -> None:
    report = _against_the_clean_api(tmp_path, ["token-alice", "stale-token"])
    assert _proofs(report) == {"primary": "proven", "secondary": "refused"}
    refused = next(f for f in report.findings if f.code == "API-LIVE-005")
    assert refused.evidence["identities"] == ["secondary"]
    assert report.details["verdict"] == "fail"


def test_two_working_identities_are_proven_and_authorisation_between_them_tested(
    tmp_path: Path,
) -> None:
    report = _against_the_clean_api(tmp_path, ["token-alice", "token-bob"])
    assert _proofs(report) == {"primary": "proven", "secondary": "proven"}
    assert report.details["live"]["bola_not_tested"] is None
    assert report.details["verdict"] == "pass"


def test_one_identity_says_object_level_authorisation_was_not_tested(tmp_path: Path) -> None:
    report = _against_the_clean_api(tmp_path, ["token-alice"])
    assert _proofs(report) == {"primary": "proven"}
    assert report.details["live"]["bola_not_tested"] == BolaNotTested.ONE_IDENTITY.value


def test_no_identity_says_so(tmp_path: Path) -> None:
    report = _against_the_clean_api(tmp_path, [])
    assert report.details["live"]["identity_proofs"] == []
    assert report.details["live"]["bola_not_tested"] == BolaNotTested.NO_IDENTITY.value


@pytest.mark.parametrize(
    ("operation", "top", "secured"),
    [
        ({"security": [{"bearer": []}]}, None, True),
        ({}, [{"bearer": []}], True),
        ({"security": []}, [{"bearer": []}], False),  # explicitly public
        ({"security": [{"bearer": []}, {}]}, None, False),  # the credential is optional
        ({}, None, False),
    ],
)
def test_which_operations_need_a_credential(
    operation: dict[str, object], top: list[dict[str, list[str]]] | None, secured: bool
) -> None:
    document: dict[str, object] = {"paths": {"/v1/me": {"get": operation}}}
    if top is not None:
        document["security"] = top
    assert (secured_operations(document) == {"GET /v1/me"}) is secured


def test_identities_are_tried_only_where_nothing_must_be_filled_in() -> None:
    secured = {"security": [{"bearer": []}], "responses": {"200": {"description": "ok"}}}
    document = {
        "paths": {
            "/v1/notes/{id}": {"get": secured},
            "/v1/search": {
                "get": {**secured, "parameters": [{"name": "q", "in": "query", "required": True}]}
            },
            "/v1/notes": {"get": secured},
            "/v1/me": {"get": secured},
            "/v1/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        }
    }
    assert probe_operations(document) == ["/v1/me", "/v1/notes"]


def test_no_identity_on_an_api_that_needs_one_fails_the_gate(tmp_path: Path) -> None:
    # Before: pass 100, higher than a run with a working token.
    report = _against_the_clean_api(tmp_path, [])
    assert "API-LIVE-006" in report.details["gate_failed"]
    untested = next(f for f in report.findings if f.code == "API-LIVE-006")
    assert "GET /v1/notes" in untested.evidence["operations"]
    assert report.details["verdict"] == "fail"


def test_a_base_url_missing_its_prefix_fails_the_gate(tmp_path: Path) -> None:
    # Every path answers 404, so the token is neither proven nor refused: before, pass 90.4.
    with serving_api(False) as url:
        report = run_api_check(_spec(tmp_path), LOOPBACK, url + "/api/v9", ["token-alice"], QUICK)
    assert _proofs(report) == {"primary": "unproven"}
    assert "API-LIVE-007" in report.details["gate_failed"]
    assert report.details["verdict"] == "fail"


def _always_429(_request: Request) -> Response:
    return Response(status_code=429, headers={"Retry-After": "60"})


def test_an_api_answering_429_to_everything_fails_the_gate(tmp_path: Path) -> None:
    app = Starlette(routes=[Route("/{path:path}", _always_429, methods=["GET", "POST"])])
    with serving_asgi(app) as url:
        report = run_api_check(_spec(tmp_path), LOOPBACK, url, ["token-alice"], QUICK)
    assert "API-LIVE-008" in report.details["gate_failed"]
    assert report.details["verdict"] == "fail"


def _unavailable(_request: Request) -> Response:
    return Response(status_code=503, headers={"Retry-After": "5"})


def _hidden_without_token(request: Request) -> Response:
    # A gateway that hides every route from a caller without a valid token.
    if request.headers.get("authorization") == "Bearer token-alice":
        return Response("[]", media_type="application/json")
    return Response(status_code=404)


ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@pytest.mark.parametrize("handler", [_unavailable, _hidden_without_token])
def test_an_api_that_never_answers_for_itself_fails_the_gate(tmp_path: Path, handler) -> None:
    # Before: pass, with all six operations counted as tested (schemathesis counts a request
    # sent, whatever came back). A 503 is not the operation's answer, nor a 404 everywhere.
    app = Starlette(routes=[Route("/{path:path}", handler, methods=ANY_METHOD)])
    with serving_asgi(app) as url:
        report = run_api_check(_spec(tmp_path), LOOPBACK, url, [], QUICK)
    live = report.details["live"]
    assert live["operations_tested"] == 0
    assert set(live["operations_unanswered"]) == secured_operations(build_spec(False)) | {
        "GET /v1/health"
    }
    assert "API-LIVE-004" in report.details["gate_failed"]
    assert report.details["verdict"] == "fail"
    assert report.details["provisional"]


def _half_down(request: Request) -> Response:
    if request.url.path == "/v1/notes" and request.method == "GET":
        return Response("[]", media_type="application/json")
    if request.url.path == "/v1/health":
        return Response('{"status": "ok"}', media_type="application/json")
    return Response(status_code=502)


def test_operations_answering_only_server_errors_are_not_counted_as_tested(tmp_path: Path):
    app = Starlette(routes=[Route("/{path:path}", _half_down, methods=ANY_METHOD)])
    with serving_asgi(app) as url:
        report = run_api_check(_spec(tmp_path), LOOPBACK, url, ["token-alice"], QUICK)
    live = report.details["live"]
    assert live["operations_tested"] == 2  # GET /v1/notes and GET /v1/health
    assert "POST /v1/notes" in live["operations_unanswered"]
    assert live["coverage"] == round(2 / 6, 3)
    assert report.details["provisional"]


@pytest.mark.parametrize(
    "written",
    [b"", b'{"operations": {"selected": 3}', b"[1, 2]", b"\xff\xfe"],
    ids=["empty", "cut off mid-object", "not an object", "not UTF-8"],
)
def test_a_report_cut_short_reads_as_no_report_not_a_crash(tmp_path: Path, written: bytes) -> None:
    report = tmp_path / "json-report.json"
    report.write_bytes(written)
    assert read_summary(report) is None


def test_a_whole_report_is_read(tmp_path: Path) -> None:
    report = tmp_path / "json-report.json"
    report.write_text('{"complete": true, "operations": {"selected": 3}}', "utf-8")
    assert read_summary(report) == {"complete": True, "operations": {"selected": 3}}
