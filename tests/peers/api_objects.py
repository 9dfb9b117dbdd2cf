"""A notes API whose objects exist already, for the authorisation matrix: no create operation,
a list of the caller's own notes, a read and a PUT of one note. Fuzzing cannot make a note, so
it never holds an id another identity owns.

`flawed` reads any note to anyone, with or without a token, and lets any identity PUT any note;
`clean` answers 401 without a token and 404 for another identity's note; `hanging` lists notes
but never answers a read; `catchall` answers every read with the same page, whatever the id;
`shared` lists every note to everyone (and reads as `flawed` does).

Leaks that hide behind a body unlike the owner's (each reads any note to anyone, as `flawed`):
`viewer` stamps the caller in a `viewer` field; `etagish` adds a `links` section naming the
caller; `reordered` lists the note's tags in another order for anyone but its owner; `wrapped`
wraps the note in `{"data": ..., "as": caller}` for anyone but its owner; `deep` answers every
read with the note and a field nested 5000 deep (more than a JSON parser's recursion limit).
`stub` is clean: 401 without a token, and for another identity's note a 200 stub holding the id
and the unit every note shares (a public value, not the owner's). Every answer to a read
carries a request id, the time and a read counter, so no two reads of one note are byte for byte
the same. Requests are recorded on `app.state.seen` as (method, path, caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers.apis import TOKENS, serving_asgi

Mode = Literal[
    "flawed",
    "clean",
    "hanging",
    "catchall",
    "shared",
    "viewer",
    "etagish",
    "reordered",
    "wrapped",
    "deep",
    "stub",
]
UNIT = "Central Division"  # every note's: a value each identity sees in its own notes
ALICE_NOTES = ("n-a71c0e52", "n-a92f4417")
BOB_NOTES = ("n-b3d8109c",)
SEED: dict[str, dict[str, Any]] = {
    "n-a71c0e52": {
        "owner": "alice",
        "title": "Custody log 14",
        "body": "Suspect interviewed.",
        "unit": UNIT,
        "tags": ["custody", "interview"],
    },
    "n-a92f4417": {
        "owner": "alice",
        "title": "Exhibit 7",
        "body": "Bagged and sealed.",
        "unit": UNIT,
        "tags": ["exhibit", "sealed"],
    },
    "n-b3d8109c": {
        "owner": "bob",
        "title": "Patrol notes",
        "body": "Quiet night.",
        "unit": UNIT,
        "tags": ["patrol"],
    },
}
DEEP = 5000


def build_app(mode: Mode) -> Starlette:
    notes = copy.deepcopy(SEED)
    reads = {"count": 0}
    seen: list[tuple[str, str, str | None]] = []

    def user_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = TOKENS.get(token) if scheme.lower() == "bearer" else None
        seen.append((request.method, request.url.path, user))
        return user

    def refused(status: int) -> Response:
        return JSONResponse({"title": "refused", "status": status}, status_code=status)

    def shown(note_id: str) -> dict[str, Any]:
        reads["count"] += 1
        return {
            "id": note_id,
            **notes[note_id],
            "request_id": str(uuid.uuid4()),
            "served_at": time.time(),
            "reads": reads["count"],  # named like nothing volatile: learnt from two reads
        }

    def disguised(note: dict[str, Any], user: str | None) -> dict[str, Any]:
        """The owner's note as another caller gets it: the same object in another body."""
        if mode == "viewer":
            return {**note, "viewer": user}
        if mode == "etagish":
            return {**note, "links": {"self": f"/v1/notes/{note['id']}", "as": user or "anon"}}
        if mode == "reordered":
            return {**note, "tags": list(reversed(note["tags"]))}
        if mode == "wrapped":
            return {"data": note, "as": user}
        return note

    async def me(request: Request) -> Response:
        user = user_of(request)
        return JSONResponse({"user": user}) if user else refused(401)

    async def list_notes(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return refused(401)
        mine = [
            {"id": k, "title": v["title"]}
            for k, v in notes.items()
            if v["owner"] == user or mode == "shared"
        ]
        return JSONResponse({"items": mine, "request_id": str(uuid.uuid4())})

    async def one_note(request: Request) -> Response:
        user = user_of(request)
        note_id = request.path_params["note_id"]
        if mode == "hanging":
            # Until the test is done with it, so the server can stop without waiting.
            while not request.app.state.released:
                await asyncio.sleep(0.05)
        if mode == "catchall":
            return JSONResponse({"app": "notes", "version": 3})
        if mode in ("clean", "stub") and user is None:
            return refused(401)
        if note_id not in notes:
            return refused(404)
        owners = notes[note_id]["owner"] == user
        if mode == "clean" and not owners:
            return refused(404)
        if mode == "stub" and not owners and request.method == "GET":
            return JSONResponse({"id": note_id, "unit": UNIT, "access": "restricted"})
        if mode == "stub" and not owners:
            return refused(403)
        if mode == "deep" and request.method == "GET":
            nested = "[" * DEEP + "]" * DEEP
            return Response(
                f'{json.dumps({"id": note_id, **notes[note_id]})[:-1]}, "x": {nested}}}'
            )
        if request.method == "GET" and not owners:
            return JSONResponse(disguised(shown(note_id), user))
        if request.method == "PUT":
            if user is None:
                return refused(401)
            try:
                sent = await request.json()
            except ValueError:
                return refused(400)
            if not isinstance(sent, dict):
                return refused(422)
            for key in ("title", "body"):
                if isinstance(sent.get(key), str):
                    notes[note_id][key] = sent[key]
            request.app.state.writes.append((user, note_id))
        return JSONResponse(shown(note_id))

    app = Starlette(
        routes=[
            Route("/v1/me", me, methods=["GET"]),
            Route("/v1/notes", list_notes, methods=["GET"]),
            Route("/v1/notes/{note_id}", one_note, methods=["GET", "PUT"]),
        ]
    )
    app.state.seen = seen
    app.state.writes = []
    app.state.notes = notes
    app.state.released = False
    return app


def build_spec() -> dict[str, Any]:
    note = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "owner": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
        },
    }
    problem = {"description": "refused", "content": {"application/json": {"schema": {}}}}
    ok = {"description": "the note", "content": {"application/json": {"schema": note}}}
    param = {"name": "note_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Notes", "version": "1.0.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/me": {
                "get": {
                    "operationId": "me",
                    "responses": {"200": {"description": "who", "content": {}}, "401": problem},
                }
            },
            "/v1/notes": {
                "get": {
                    "operationId": "listNotes",
                    "responses": {"200": {"description": "mine"}, "401": problem},
                }
            },
            "/v1/notes/{note_id}": {
                "parameters": [param],
                "get": {
                    "operationId": "getNote",
                    "responses": {"200": ok, "401": problem, "404": problem},
                },
                "put": {
                    "operationId": "putNote",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": note}},
                    },
                    "responses": {"200": ok, "400": problem, "401": problem, "404": problem},
                },
            },
        },
    }


@contextlib.contextmanager
def serving_objects(mode: Mode) -> Iterator[tuple[str, Starlette]]:
    """The app on a free loopback port: its base URL, and the app (to read what it saw)."""
    app = build_app(mode)
    with serving_asgi(app) as url:
        try:
            yield url, app
        finally:
            app.state.released = True
