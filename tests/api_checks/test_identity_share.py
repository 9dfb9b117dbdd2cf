"""An identity is judged operation by operation: one 2xx proves a token works somewhere, but a
token most secured operations refuse leaves what they guard untested, and fails the gate
(API-LIVE-010). The preflight and the fuzzing run are judged by the one rule (identities.judged)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checks.api.check import run_api_check
from checks.api.identities import identity_proofs, judged, merged
from checks.api.live import LiveSettings
from checks.api.live_probes.client import probe_book
from checks.api.preflight import preflight
from checks.catalogue.api import IdentityStatus
from checks.egress import EgressPolicy
from tests.peers.apis import serving_asgi

LOOPBACK = EgressPolicy.loopback_only()
QUICK = LiveSettings(max_examples=3, budget_seconds=20)
PATHS = ("/v1/me", "/v1/notes", "/v1/report")
# bob's token works on /v1/me alone: a "who am I" answers, everything it guards refuses him.
ALLOWED = {"token-alice": set(PATHS), "token-bob": {"/v1/me"}}


def _spec() -> dict[str, object]:
    answers = {
        "200": {
            "description": "ok",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "401": {"description": "no token"},
        "403": {"description": "not allowed"},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Scoped", "version": "1"},
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {path: {"get": {"responses": answers}} for path in PATHS},
    }


async def _scoped(request: Request) -> Response:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if token not in ALLOWED:
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if request.url.path not in ALLOWED[token]:
        return Response(status_code=403)
    return JSONResponse({"path": request.url.path})


def _app() -> Starlette:
    return Starlette(routes=[Route(path, _scoped, methods=["GET"]) for path in PATHS])


def test_a_token_refused_by_most_secured_operations_fails_the_gate(tmp_path: Path) -> None:
    # Before: bob was "proven" by /v1/me and the run passed, though it never saw past a 403.
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(_spec()))
    with serving_asgi(_app()) as url:
        report = run_api_check(str(spec), LOOPBACK, url, ["token-alice", "token-bob"], QUICK)
    proofs = {p["identity"]: p for p in report.details["live"]["identity_proofs"]}
    assert proofs["primary"]["accepted_share"] == 1.0
    bob = proofs["secondary"]
    assert bob["status"] == "proven"
    assert (bob["secured_accepted"], bob["secured_refused"]) == (1, 2)
    assert bob["accepted_share"] == round(1 / 3, 3)
    assert "API-LIVE-010" in report.details["gate_failed"]
    narrow = next(f for f in report.findings if f.code == "API-LIVE-010")
    assert narrow.evidence["identities"] == ["secondary"]
    assert narrow.evidence["minimum"] == probe_book().identities.min_accepted_share
    assert report.details["verdict"] == "fail"


def test_the_preflight_is_judged_by_the_same_rule_as_the_run() -> None:
    with serving_asgi(_app()) as url:
        before = preflight(_spec(), url, ["token-bob", "stale"], LOOPBACK, 2.0, 60)
    assert before is not None
    # Every operation tried once per identity, not stopped at the first 2xx.
    assert before["primary"] == {
        "GET /v1/me": Counter({200: 1}),
        "GET /v1/notes": Counter({403: 1}),
        "GET /v1/report": Counter({403: 1}),
    }
    bob, stale = identity_proofs(before, 2)
    assert (bob.status, bob.secured_accepted, bob.secured_refused) == (
        IdentityStatus.PROVEN,
        1,
        2,
    )
    assert stale.status is IdentityStatus.REFUSED
    # The fuzzing run's answers join the preflight's before judging, not after.
    during = {"secondary": {"GET /v1/notes": Counter({200: 2})}}
    together = identity_proofs(merged(before, during), 2)
    assert together[1].status is IdentityStatus.PROVEN
    assert together[1].responses == {"200": 2, "401": 3}


def test_what_says_nothing_about_a_credential_does_not_count_against_it() -> None:
    # The answers to valid requests sent with it (read_answers leaves out the refusals of
    # invalid data and of replays of another identity's object).
    proof = judged(
        "primary",
        {
            "GET /v1/me": Counter({200: 1}),
            "GET /v1/notes/{id}": Counter({404: 5}),  # an id it does not know
            "GET /v1/notes/{id}/tags": Counter({403: 4}),  # an id it does not own
            "POST /v1/export": Counter({500: 2, 503: 1}),  # the server failed, not the token
            "POST /v1/notes": Counter({400: 4}),  # 400 "invalid token" to every valid request
            "GET /v1/audit": Counter({404: 1}),  # no template: hidden from it
            "GET /v1/admin": Counter({403: 2}),
            "GET /v1/keys/{id}": Counter({401: 1, 404: 2}),  # a 401 refuses it on any path
        },
    )
    assert (proof.secured_tried, proof.secured_accepted, proof.secured_refused) == (8, 1, 4)
    assert proof.accepted_share == round(1 / 5, 3)
    assert proof.untested is None
