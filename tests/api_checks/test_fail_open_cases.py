"""Runs that used to pass an API nobody tested: a server answering 400 to everything, a wrong
token the API answers with 400 "invalid token" where no preflight could try it, and the reverse,
a clean API failed because it answers 403 to ids its caller does not own (schemathesis makes ids
up). Each scenario is a real server on loopback; the clean peers must keep full coverage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checks.api import identities
from checks.api.check import run_api_check
from checks.api.identities import NOT_SENT
from checks.api.live import LiveSettings
from checks.api.live_probes.client import probe_book
from checks.egress import EgressPolicy
from checks.report import CheckReport
from tests.peers import api_flaws
from tests.peers.apis import TOKENS, build_spec, serving_api, serving_asgi

LOOPBACK = EgressPolicy.loopback_only()
QUICK = LiveSettings(max_examples=5, budget_seconds=30)
PROBLEM = {
    "description": "problem",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
NOTE = {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}}}
OK = {"description": "ok", "content": {"application/json": {"schema": NOTE}}}
LISTED = {"description": "ok", "content": {"application/json": {"schema": {"type": "array"}}}}
NOTE_ID = [{"name": "nid", "in": "path", "required": True, "schema": {"type": "string"}}]
BEARER = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}


def _document(paths: dict[str, Any], secured: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
    }
    if secured:
        document |= {"components": BEARER, "security": [{"bearer": []}]}
    return document


def _check(
    folder: Path, document: dict[str, Any], app: Starlette, tokens: list[str]
) -> CheckReport:
    path = folder / "openapi.json"
    path.write_text(json.dumps(document))
    with serving_asgi(app) as url:
        return run_api_check(str(path), LOOPBACK, url, tokens, QUICK)


def _user(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return TOKENS.get(token) if scheme.lower() == "bearer" else None


def _gates(report: CheckReport) -> set[str]:
    return set(report.details["gate_failed"])


def _proofs(report: CheckReport) -> dict[str, dict[str, Any]]:
    return {p["identity"]: p for p in report.details["live"]["identity_proofs"]}


# -- a server answering 400 to everything ------------------------------------------------------

ITEM = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
ITEMS = {
    "/items": {
        "get": {"responses": {"200": LISTED, "400": PROBLEM}},
        "post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": ITEM}}},
            "responses": {"201": OK, "400": PROBLEM},
        },
    },
    "/items/{nid}": {"parameters": NOTE_ID, "get": {"responses": {"200": OK, "400": PROBLEM}}},
}


async def _bad_request(request: Request) -> Response:
    return JSONResponse({"title": "bad request"}, 400)


def _every_path(handler: Any) -> Starlette:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{rest:path}", handler, methods=methods)])


def test_a_server_answering_400_to_everything_tested_nothing(tmp_path: Path) -> None:
    # Before: verdict pass, coverage 1.0: every 400 counted as the operation's own answer.
    report = _check(tmp_path, _document(ITEMS, secured=False), _every_path(_bad_request), [])
    assert report.details["live"]["coverage"] == 0.0
    assert "API-LIVE-004" in _gates(report)
    assert report.details["verdict"] == "fail"
    assert report.details["provisional"] is True


def test_operations_answering_400_to_valid_and_invalid_data_alike_are_not_tested(
    tmp_path: Path,
) -> None:
    # One healthy operation proves the server runs; the others only ever say 400.
    async def handler(request: Request) -> Response:
        if request.url.path == "/health" and request.method == "GET":
            return JSONResponse({"status": "ok"})
        return JSONResponse({"title": "bad request"}, 400)

    paths = {**ITEMS, "/health": {"get": {"responses": {"200": OK}}}}
    report = _check(tmp_path, _document(paths, secured=False), _every_path(handler), [])
    live = report.details["live"]
    assert (live["operations_tested"], live["operations_total"]) == (1, 4)
    assert set(live["operations_unanswered"]) == {"GET /items", "POST /items", "GET /items/{nid}"}
    assert report.details["provisional"] is True


def test_negative_data_rejected_while_valid_data_is_not_counts_as_tested() -> None:
    operations = {
        "GET /v1/health": Counter({200: 3}),
        "POST /v1/notes": Counter({422: 4, 500: 2}),  # 422 to invalid data, 500 to valid
        "PUT /v1/notes": Counter({400: 6}),  # 400 to invalid and valid alike
        "GET /v1/notes/{id}": Counter({404: 2}),  # an unknown id
    }
    negative = {"POST /v1/notes": Counter({422: 4}), "PUT /v1/notes": Counter({400: 3})}
    # (identities.tested, not imported: pytest would collect it as a test.)
    assert identities.tested(operations, negative) == {
        "GET /v1/health",
        "POST /v1/notes",
        "GET /v1/notes/{id}",
    }
    # No 2xx anywhere: nothing of the API was shown to run.
    assert identities.tested({"POST /v1/notes": Counter({422: 4})}, negative) == set()


# -- a wrong token the API answers with 400 ----------------------------------------------------


async def _invalid_token_is_400(request: Request) -> Response:
    if not request.headers.get("authorization"):
        return JSONResponse({"title": "no token"}, 401)
    if _user(request) is None:
        return JSONResponse({"title": "invalid token"}, 400)
    if request.method == "POST":
        return JSONResponse({"id": "n1", "title": "t"}, 201)
    return JSONResponse({"id": request.path_params.get("nid", "x"), "title": "t"})


NO_PREFLIGHT = {
    # Nothing the preflight can try: a write and a templated read.
    "/v1/notes": {
        "post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": NOTE}}},
            "responses": {"201": OK, "400": PROBLEM, "401": PROBLEM},
        }
    },
    "/v1/notes/{nid}": {
        "parameters": NOTE_ID,
        "get": {"responses": {"200": OK, "400": PROBLEM, "401": PROBLEM, "404": PROBLEM}},
    },
}


def _notes_app(handler: Any, *extra: Route) -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/notes", handler, methods=["POST"]),
            Route("/v1/notes/{nid}", handler),
            *extra,
        ]
    )


def test_a_wrong_token_fails_the_gate_without_a_preflight_operation(tmp_path: Path) -> None:
    # Before: pass, coverage 1.0, the identity "unproven" and no finding (no preflight ran).
    app = _notes_app(_invalid_token_is_400)
    report = _check(tmp_path, _document(NO_PREFLIGHT), app, ["not-a-token"])
    assert _proofs(report)["primary"]["status"] == "unproven"
    assert {"API-LIVE-007", "API-LIVE-004"} <= _gates(report)
    unproven = next(f for f in report.findings if f.code == "API-LIVE-007")
    assert unproven.evidence["identities"] == ["primary"]
    assert unproven.evidence["preflight_ran"] is False
    assert report.details["verdict"] == "fail"


def test_the_same_api_with_a_working_token_proves_it(tmp_path: Path) -> None:
    app = _notes_app(_invalid_token_is_400)
    report = _check(tmp_path, _document(NO_PREFLIGHT), app, ["token-alice"])
    assert _proofs(report)["primary"]["status"] == "proven"
    assert not {"API-LIVE-004", "API-LIVE-007", "API-LIVE-010"} & _gates(report)
    assert report.details["live"]["coverage"] == 1.0


def test_a_whoami_accepting_a_wrong_token_does_not_prove_it(tmp_path: Path) -> None:
    # /v1/me answers 200 to any bearer; the operations it guards answer 400 "invalid token".
    # Before: pass, share 1.0 (a 400 said nothing about the credential).
    async def me(request: Request) -> Response:
        if not request.headers.get("authorization"):
            return JSONResponse({"title": "no token"}, 401)
        return JSONResponse({"user": _user(request)})

    paths = {**NO_PREFLIGHT, "/v1/me": {"get": {"responses": {"200": OK, "401": PROBLEM}}}}
    app = _notes_app(_invalid_token_is_400, Route("/v1/me", me))
    report = _check(tmp_path, _document(paths), app, ["not-a-token"])
    primary = _proofs(report)["primary"]
    assert primary["status"] == "proven"
    assert (primary["secured_accepted"], primary["secured_refused"]) == (1, 2)
    assert "API-LIVE-010" in _gates(report)


def test_a_token_sent_to_no_secured_operation_leaves_the_result_provisional(
    tmp_path: Path,
) -> None:
    # A public description: the token was never judged, so the result must not look complete.
    async def notes(request: Request) -> Response:
        return JSONResponse([{"id": "n1", "title": "t"}])

    paths = {"/v1/notes": {"get": {"responses": {"200": LISTED}}}}
    app = Starlette(routes=[Route("/v1/notes", notes)])
    report = _check(tmp_path, _document(paths, secured=False), app, ["token-alice"])
    primary = _proofs(report)["primary"]
    assert (primary["status"], primary["untested"]) == ("unproven", NOT_SENT)
    assert report.details["live"]["coverage"] == 1.0
    assert report.details["provisional"] is True
    assert "API-LIVE-007" not in _gates(report)


# -- a clean API answering 403 to ids its caller does not own ----------------------------------

OWNERS = {"n1": "alice", "n2": "bob"}


async def _me(request: Request) -> Response:
    user = _user(request)
    return JSONResponse({"user": user}) if user else JSONResponse({"title": "no"}, 401)


async def _listed(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return JSONResponse({"title": "no"}, 401)
    return JSONResponse([{"id": k, "title": "t"} for k, owner in OWNERS.items() if owner == user])


async def _owned(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return JSONResponse({"title": "no"}, 401)
    if OWNERS.get(request.path_params["nid"]) != user:
        return JSONResponse({"title": "forbidden"}, 403)
    return JSONResponse({"id": request.path_params["nid"], "title": "t"})


def test_a_clean_api_refusing_foreign_ids_with_403_passes(tmp_path: Path) -> None:
    # Before: API-LIVE-010, share 0.4: each templated read "refused" the token.
    owned = {
        "parameters": NOTE_ID,
        "get": {"responses": {"200": OK, "401": PROBLEM, "403": PROBLEM}},
    }
    paths = {
        "/v1/me": {"get": {"responses": {"200": OK, "401": PROBLEM}}},
        "/v1/notes": {"get": {"responses": {"200": LISTED, "401": PROBLEM}}},
        **{f"/v1/notes/{{nid}}{tail}": owned for tail in ("", "/history", "/tags")},
    }
    app = Starlette(
        routes=[Route("/v1/me", _me), Route("/v1/notes", _listed)]
        + [Route(f"/v1/notes/{{nid}}{tail}", _owned) for tail in ("", "/history", "/tags")]
    )
    report = _check(tmp_path, _document(paths), app, ["token-alice", "token-bob"])
    for proof in _proofs(report).values():
        assert (proof["status"], proof["secured_refused"], proof["accepted_share"]) == (
            "proven",
            0,
            1.0,
        )
    assert "API-LIVE-010" not in _gates(report)
    assert report.details["live"]["coverage"] == 1.0


def test_an_account_lacking_a_few_admin_operations_is_not_too_narrow(tmp_path: Path) -> None:
    # Three user operations and four admin ones, of which the account may use none: 3/7.
    user_paths = [f"/v1/{name}" for name in ("me", "notes", "reports")]
    admin_paths = [f"/v1/admin/{name}" for name in ("users", "audit", "keys", "settings")]

    async def handler(request: Request) -> Response:
        if _user(request) is None:
            return JSONResponse({"title": "no"}, 401)
        if request.url.path.startswith("/v1/admin/"):
            return JSONResponse({"title": "admins only"}, 403)
        return JSONResponse({"ok": True})

    responses = {"200": OK, "401": PROBLEM, "403": PROBLEM}
    document = _document({p: {"get": {"responses": responses}} for p in user_paths + admin_paths})
    app = Starlette(routes=[Route(p, handler) for p in user_paths + admin_paths])
    report = _check(tmp_path, document, app, ["token-alice"])
    alice = _proofs(report)["primary"]
    assert (alice["secured_accepted"], alice["secured_refused"]) == (3, 4)
    assert alice["accepted_share"] >= probe_book().identities.min_accepted_share
    assert "API-LIVE-010" not in _gates(report)


# -- the clean peers keep full coverage --------------------------------------------------------


def test_the_clean_notes_api_is_fully_tested(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(build_spec(False)))
    with serving_api(False) as url:
        report = run_api_check(str(path), LOOPBACK, url, ["token-alice", "token-bob"], QUICK)
    assert report.details["live"]["coverage"] == 1.0
    assert {p["status"] for p in _proofs(report).values()} == {"proven"}
    assert report.details["verdict"] == "pass"


def test_the_clean_accounts_api_is_fully_tested(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(api_flaws.build_spec()))
    tokens = [api_flaws.token_for("alice"), api_flaws.token_for("bob")]
    with api_flaws.serving_accounts("clean") as url:
        report = run_api_check(str(path), LOOPBACK, url, tokens, QUICK)
    assert report.details["live"]["coverage"] == 1.0
    assert {p["status"] for p in _proofs(report).values()} == {"proven"}
    assert not {"API-LIVE-004", "API-LIVE-007", "API-LIVE-010"} & _gates(report)
