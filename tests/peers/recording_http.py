"""A small HTTP server on a loopback address that records every request it gets.

Used two ways by the egress tests: as the supplier's sandbox (an API plus the documents its
description points at) and as a forbidden target, which must record nothing.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = tuple[int, dict[str, str], bytes]


def json_route(payload: Any, status: int = 200) -> Route:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def redirect_route(location: str) -> Route:
    return 302, {"Location": location}, b""


@dataclass
class RecordingServer:
    address: str
    routes: dict[str, Route] = field(default_factory=dict)
    # Answers GET /items/{n} and POST /items like a tiny API when set.
    serve_items: bool = False
    requests: list[str] = field(default_factory=list)
    port: int = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000)) if length else b""
                server.requests.append(f"{self.command} {self.path} {body[:200]!r}")
                status, headers, payload = server.route(self.command, self.path.split("?")[0])
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

        return Handler

    def route(self, method: str, path: str) -> Route:
        if path in self.routes:
            return self.routes[path]
        if self.serve_items and method == "POST" and path == "/items":
            return json_route({"id": 1, "name": "item"}, 201)
        tail = path.removeprefix("/items/")
        if self.serve_items and method == "GET" and tail != path and tail.lstrip("-").isdigit():
            return json_route({"id": int(tail), "name": "item"})
        return json_route({"title": "not found", "status": 404}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def _bind(server: RecordingServer) -> _Server:
    family = socket.AF_INET6 if ":" in server.address else socket.AF_INET
    server_class = type("Bound", (_Server,), {"address_family": family})
    httpd = server_class((server.address, server.port), server.handler())
    server.port = httpd.server_address[1]
    return httpd


@contextmanager
def _running(*servers: _Server) -> Iterator[None]:
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()
        for thread in threads:
            thread.join(timeout=5)


@contextmanager
def recording(server: RecordingServer) -> Iterator[RecordingServer]:
    with _running(_bind(server)):
        yield server


@contextmanager
def twin_ports(allowed: RecordingServer, forbidden: RecordingServer) -> Iterator[None]:
    """Both servers on one port number at two addresses, so a connection moved from the
    allowed address to the forbidden one would land on a live server and be seen."""
    for _ in range(50):
        allowed.port = 0
        first = _bind(allowed)
        forbidden.port = allowed.port
        try:
            second = _bind(forbidden)
        except OSError:
            first.server_close()
            continue
        break
    else:
        raise RuntimeError("no port free on both addresses")
    with _running(first, second):
        yield
