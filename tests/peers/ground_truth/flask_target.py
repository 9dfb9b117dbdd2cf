"""The case-notes API on Flask, served by werkzeug's make_server in a thread: view functions, the
request handed to the shared rules, Flask's own 404/405. The flawed target runs as `flask run
--debug` would, inside werkzeug's DebuggedApplication, so an uncaught error answers with the
interactive debugger page."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask, Response, request
from werkzeug.debug import DebuggedApplication
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.peers.ground_truth.case_notes import CaseNotes, Incoming, Mode, Reply, problem


def _render(reply: Reply) -> Response:
    return Response(
        reply.encoded(), reply.status, headers=reply.headers, content_type=reply.media_type
    )


def build_app(mode: Mode) -> Flask:
    notes = CaseNotes(mode)
    app = Flask(__name__)
    app.debug = notes.flawed

    def answer(operation: str, note_id: str = "") -> Response:
        incoming = Incoming(
            headers={k.lower(): v for k, v in request.headers.items()},
            cookies=dict(request.cookies),
            query={k: request.args.getlist(k) for k in request.args},
            body=request.get_data(cache=False),
        )
        return _render(notes.serve(operation, incoming, note_id))

    routes = (
        ("/v1/me", "whoAmI", ["GET"]),
        ("/v1/stats", "noteStats", ["GET"]),
        ("/v1/notes", "listNotes", ["GET"]),
        ("/v1/notes", "createNote", ["POST"]),
    )
    for rule, operation, methods in routes:
        app.add_url_rule(
            rule,
            operation,
            lambda operation=operation: answer(operation),
            methods=methods,
        )
    for operation, methods in (("getNote", ["GET"]), ("updateNote", ["PATCH"])):
        app.add_url_rule(
            "/v1/notes/<note_id>",
            operation,
            lambda note_id, operation=operation: answer(operation, note_id),
            methods=methods,
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        # Flask's 404 and 405 (with its Allow header) as problem documents.
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return _render(problem(exc.code or 500, exc.name, **headers))

    return app


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving_flask(mode: Mode) -> Iterator[str]:
    """Serve the case-notes API with werkzeug on a free loopback port; yields its base URL."""
    app = build_app(mode)
    wsgi = DebuggedApplication(app, evalex=True) if app.debug else app
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
