"""Two small APIs for the API-conformance tests, served by uvicorn on loopback.

`well_behaved` follows its OpenAPI description; `flawed` plants one fault of each kind: a 500 on
some input, an operation that ignores authentication, one that hands out other users' objects,
one that accepts invalid bodies, and a plain-HTTP server entry in its description.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers.processes import free_port

TOKENS = {"token-alice": "alice", "token-bob": "bob"}
RATE_HEADERS = {"RateLimit-Limit": "100", "RateLimit-Remaining": "99", "RateLimit-Reset": "60"}
PROBLEM = "application/problem+json"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(default="", max_length=1000)


def _problem(status: int, title: str, **headers: str) -> Response:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status},
        status_code=status,
        media_type=PROBLEM,
        headers={**RATE_HEADERS, **headers},
    )


def _json(payload: Any, status: int = 200) -> Response:
    return JSONResponse(payload, status_code=status, headers=RATE_HEADERS)


def build_app(flawed: bool) -> Starlette:
    notes: dict[str, dict[str, Any]] = {}

    def user_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return TOKENS.get(token) if scheme.lower() == "bearer" else None

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def list_notes(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return _problem(401, "Authentication required", **{"WWW-Authenticate": "Bearer"})
        return _json([n for n in notes.values() if n["owner"] == user])

    async def create_note(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return _problem(401, "Authentication required", **{"WWW-Authenticate": "Bearer"})
        try:
            raw = await request.json()
        except ValueError:
            return _problem(400, "Body is not JSON")
        if flawed:
            # Planted fault: anything goes in, valid or not.
            title = str(raw.get("title", "")) if isinstance(raw, dict) else str(raw)
            body = str(raw.get("body", "")) if isinstance(raw, dict) else ""
        else:
            if request.headers.get("content-type", "").split(";")[0] != "application/json":
                return _problem(415, "Send application/json")
            try:
                note = NoteIn.model_validate(raw)
            except ValidationError:
                return _problem(422, "Body does not match the schema")
            title, body = note.title, note.body
        note_id = str(uuid.uuid4())
        notes[note_id] = {"id": note_id, "owner": user, "title": title, "body": body}
        return _json(notes[note_id], 201)

    async def notes_collection(request: Request) -> Response:
        if request.method == "POST":
            return await create_note(request)
        return await list_notes(request)

    async def get_note(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return _problem(401, "Authentication required", **{"WWW-Authenticate": "Bearer"})
        note = notes.get(request.path_params["note_id"])
        # Planted fault (flawed): no owner check, so one user reads another's note.
        if note is None or (not flawed and note["owner"] != user):
            return _problem(404, "No such note")
        return _json(note)

    async def report(request: Request) -> Response:
        # Planted fault (flawed): the description demands a token, the code never asks for one.
        if not flawed and user_of(request) is None:
            return _problem(401, "Authentication required", **{"WWW-Authenticate": "Bearer"})
        return _json({"notes": len(notes)})

    async def search(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return _problem(401, "Authentication required", **{"WWW-Authenticate": "Bearer"})
        query = request.query_params.get("q", "")
        if flawed and len(query) > 3:
            raise RuntimeError("planted fault: long queries crash the search")
        if not 1 <= len(query) <= 50:
            return _problem(400, "q must be 1 to 50 characters")
        return _json([n for n in notes.values() if n["owner"] == user and query in n["title"]])

    async def server_error(request: Request, exc: Exception) -> Response:
        return _problem(500, "Internal error")

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/notes", notes_collection, methods=["GET", "POST"]),
        Route("/v1/notes/{note_id}", get_note, methods=["GET"]),
        Route("/v1/report", report, methods=["GET"]),
        Route("/v1/search", search, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={500: server_error})
    app.state.notes = notes
    return app


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _rate_headers(),
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _rate_headers() -> dict[str, Any]:
    return {
        name: {
            "description": f"{name} as in draft-ietf-httpapi-ratelimit-headers",
            "schema": {"type": "string", "maxLength": 20},
        }
        for name in RATE_HEADERS
    }


def _errors(*codes: int) -> dict[str, Any]:
    titles = {
        400: "Bad request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        415: "Unsupported media type",
        422: "Invalid body",
        429: "Too many requests",
        500: "Server error",
    }
    responses = {str(code): _problem_response(titles[code]) for code in codes}
    if "429" in responses:
        responses["429"]["headers"]["Retry-After"] = {
            "description": "Seconds to wait",
            "schema": {"type": "integer", "minimum": 0, "maximum": 3600},
        }
    if "401" in responses:
        responses["401"]["headers"]["WWW-Authenticate"] = {
            "description": "Bearer challenge",
            "schema": {"type": "string", "maxLength": 100},
        }
    return responses


def _ok(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": _rate_headers(),
            "content": {"application/json": {"schema": schema}},
        }
    }


NOTE = {"$ref": "#/components/schemas/Note"}


def build_spec(flawed: bool) -> dict[str, Any]:
    secured = [{"bearer": []}]
    spec: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Notes API",
            "version": "1.0.0",
            "description": "Personal notes, for conformance tests.",
            "contact": {"name": "Test team", "email": "api@example.police.uk"},
        },
        "servers": [{"url": "https://notes.example.police.uk"}],
        "security": secured,
        "paths": {
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Service health",
                    "security": [],
                    "description": "Public liveness check.",
                    "responses": {
                        **_ok(
                            "Healthy",
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"type": "string", "enum": ["ok"]}},
                                "additionalProperties": False,
                            },
                        ),
                        **_errors(429, 500),
                    },
                }
            },
            "/v1/notes": {
                "get": {
                    "operationId": "listNotes",
                    "summary": "List my notes",
                    "description": "Notes owned by the caller.",
                    "responses": {
                        **_ok("My notes", {"type": "array", "maxItems": 1000, "items": NOTE}),
                        **_errors(401, 403, 429, 500),
                    },
                },
                "post": {
                    "operationId": "createNote",
                    "summary": "Create a note",
                    "description": "Stores a note owned by the caller.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/NoteIn"}}
                        },
                    },
                    "responses": {
                        **_ok("Created", NOTE, "201"),
                        **_errors(400, 401, 403, 415, 422, 429, 500),
                    },
                },
            },
            "/v1/notes/{note_id}": {
                "get": {
                    "operationId": "getNote",
                    "summary": "Read a note",
                    "description": "One of the caller's notes.",
                    "parameters": [
                        {
                            "name": "note_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid", "maxLength": 36},
                        }
                    ],
                    "responses": {**_ok("The note", NOTE), **_errors(400, 401, 403, 404, 429, 500)},
                    "links": {},
                }
            },
            "/v1/report": {
                "get": {
                    "operationId": "report",
                    "summary": "Count notes",
                    "description": "A count of all notes.",
                    "responses": {
                        **_ok(
                            "Counts",
                            {
                                "type": "object",
                                "required": ["notes"],
                                "properties": {
                                    "notes": {"type": "integer", "minimum": 0, "maximum": 1000000}
                                },
                                "additionalProperties": False,
                            },
                        ),
                        **_errors(401, 403, 429, 500),
                    },
                }
            },
            "/v1/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search my notes",
                    "description": "Notes whose title contains q.",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 50},
                        }
                    ],
                    "responses": {
                        **_ok("Matches", {"type": "array", "maxItems": 1000, "items": NOTE}),
                        **_errors(400, 401, 403, 429, 500),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
            },
            "schemas": {
                "NoteIn": {
                    "type": "object",
                    "required": ["title"],
                    "additionalProperties": False,
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 100},
                        "body": {"type": "string", "maxLength": 1000},
                    },
                },
                "Note": {
                    "type": "object",
                    "required": ["id", "title", "body"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "format": "uuid", "maxLength": 36},
                        "owner": {"type": "string", "maxLength": 50},
                        "title": {"type": "string", "maxLength": 1000},
                        "body": {"type": "string", "maxLength": 1000},
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["title", "status"],
                    "properties": {
                        "type": {"type": "string", "maxLength": 200},
                        "title": {"type": "string", "maxLength": 200},
                        "status": {"type": "integer", "minimum": 100, "maximum": 599},
                    },
                },
            },
        },
    }
    del spec["paths"]["/v1/notes/{note_id}"]["get"]["links"]
    spec["paths"]["/v1/notes"]["post"]["responses"]["201"]["links"] = {
        "GetNote": {"operationId": "getNote", "parameters": {"note_id": "$response.body#/id"}}
    }
    if flawed:
        spec = copy.deepcopy(spec)
        spec["servers"] = [{"url": "http://notes.example.police.uk"}]
    return spec


def serving_api(flawed: bool) -> contextlib.AbstractContextManager[str]:
    """Serve the app on a free loopback port; yields its base URL; stops on exit."""
    return serving_asgi(build_app(flawed))


@contextlib.contextmanager
def serving_asgi(app: Starlette) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
