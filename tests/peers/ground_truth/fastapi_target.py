"""The case-notes API on FastAPI, served by uvicorn: path operations, the raw request handed to
the shared rules, FastAPI's own 404/405. The flawed target runs with debug=True, so an uncaught
error answers with Starlette's traceback page."""

from __future__ import annotations

import contextlib

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from tests.peers.apis import serving_asgi
from tests.peers.ground_truth.case_notes import CaseNotes, Incoming, Mode, Reply, problem


def _render(reply: Reply) -> Response:
    return Response(
        reply.encoded(), reply.status, headers=reply.headers, media_type=reply.media_type
    )


def build_app(mode: Mode) -> FastAPI:
    notes = CaseNotes(mode)
    # No generated description or docs: the shared document is the description.
    app = FastAPI(debug=notes.flawed, openapi_url=None, docs_url=None, redoc_url=None)

    async def answer(operation: str, request: Request, note_id: str = "") -> Response:
        incoming = Incoming(
            headers={k.lower(): v for k, v in request.headers.items()},
            cookies=dict(request.cookies),
            query={k: request.query_params.getlist(k) for k in request.query_params},
            body=await request.body(),
        )
        return _render(notes.serve(operation, incoming, note_id))

    # One route per path, as Starlette's 405 names only the methods of the route it matched
    # first: with a route per method, OPTIONS /v1/notes would answer "Allow: GET".
    @app.get("/v1/me")
    async def who_am_i(request: Request) -> Response:
        return await answer("whoAmI", request)

    @app.get("/v1/stats")
    async def note_stats(request: Request) -> Response:
        return await answer("noteStats", request)

    @app.api_route("/v1/notes", methods=["GET", "POST"])
    async def notes_collection(request: Request) -> Response:
        operation = "createNote" if request.method == "POST" else "listNotes"
        return await answer(operation, request)

    @app.api_route("/v1/notes/{note_id}", methods=["GET", "PATCH"])
    async def one_note(note_id: str, request: Request) -> Response:
        operation = "updateNote" if request.method == "PATCH" else "getNote"
        return await answer(operation, request, note_id)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        # FastAPI's 404 and 405 (with its Allow header) as problem documents.
        reply = problem(exc.status_code, str(exc.detail), **(exc.headers or {}))
        return _render(reply)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _render(problem(400, "The request does not match the description"))

    return app


def serving_fastapi(mode: Mode) -> contextlib.AbstractContextManager[str]:
    """Serve the case-notes API with FastAPI and uvicorn on loopback; yields its base URL."""
    return serving_asgi(build_app(mode))
