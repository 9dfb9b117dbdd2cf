"""The case-notes API on the standard library's ThreadingHTTPServer: routing by hand, 405 with
Allow for undeclared methods, and on the flawed target an uncaught error answered the way a
hand-rolled server often does, with the Python traceback as text/plain."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import traceback
from collections.abc import Iterator
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.peers.ground_truth.case_notes import CaseNotes, Incoming, Mode, Reply, problem

MAX_BODY = 64 * 1024
ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(r"/v1/me"), {"GET": "whoAmI"}),
    (re.compile(r"/v1/stats"), {"GET": "noteStats"}),
    (re.compile(r"/v1/notes"), {"GET": "listNotes", "POST": "createNote"}),
    (re.compile(r"/v1/notes/(?P<note_id>[^/]+)"), {"GET": "getNote", "PATCH": "updateNote"}),
)


def _cookies(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def handler_for(notes: CaseNotes) -> type[BaseHTTPRequestHandler]:
    class CaseNotesHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes; without this, Nagle holds the body back
            # for the client's delayed ACK (40 ms a request on a kept-alive connection).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, reply: Reply) -> None:
            payload = reply.encoded()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.media_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _traceback(self) -> None:
            text = traceback.format_exc().encode()
            self.send_response(500)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def _body(self) -> bytes | None:
            length = self.headers.get("Content-Length", "0") or "0"
            if not length.isdigit() or int(length) > MAX_BODY:
                return None
            return self.rfile.read(int(length))

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            if body is None:
                self.close_connection = True
                self._send(problem(400, "Content-Length is missing, invalid or too large"))
                return
            for pattern, methods in ROUTES:
                match = pattern.fullmatch(parts.path)
                if match is None:
                    continue
                method = "GET" if self.command == "HEAD" else self.command
                if method not in methods:
                    allow = ", ".join([*methods, "HEAD"] if "GET" in methods else methods)
                    self._send(problem(405, "Method not allowed", Allow=allow))
                    return
                incoming = Incoming(
                    headers={k.lower(): v for k, v in self.headers.items()},
                    cookies=_cookies(self.headers.get("Cookie", "")),
                    query=parse_qs(parts.query, keep_blank_values=True),
                    body=body,
                )
                try:
                    reply = notes.serve(methods[method], incoming, **match.groupdict())
                except Exception:
                    if notes.flawed:
                        self._traceback()  # planted fault (g), the stdlib way
                    else:
                        self._send(problem(500, "Internal error"))
                    return
                self._send(reply)
                return
            self._send(problem(404, "No such path"))

        def __getattr__(self, name: str) -> object:
            # Every method, QUERY and made-up ones included, is routed: the server, not
            # BaseHTTPRequestHandler's 501, says which methods a path allows.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

    return CaseNotesHandler


@contextlib.contextmanager
def serving_stdlib(mode: Mode) -> Iterator[str]:
    """Serve the case-notes API with http.server on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(CaseNotes(mode)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
