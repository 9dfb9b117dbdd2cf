"""A small HTTP endpoint for a process that serves nothing else (the worker): /metrics for
the allowed addresses, /livez and /readyz for anyone, 404 for everything else.

The standard library's request handler answers, but connections are not given a thread each
(http.server's threading server would: a client sending a byte every few seconds holds one
for ever, and a few hundred such clients hold a few hundred). Instead one thread reads every
connection's request line and headers without blocking, under a deadline for the whole of
them, and only a complete request is handed to one of a few answering threads:

- a connection has `head_seconds` from its accept to send its whole request head, however it
  trickles it, and at most HEAD_BYTES of it;
- at most `waiting` connections may be part-way through their head; a newcomer beyond that
  pushes out the oldest, so slow clients cannot keep a scraper from being heard;
- at most `answering` requests are answered at once; one beyond that gets 503 at once.
"""

from __future__ import annotations

import io
import json
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from posture.observability.readiness import Readiness
from posture.observability.series import Network, address_allowed, relayed

log = logging.getLogger("assure.metrics")

PROBLEM_MEDIA = "application/problem+json"
# Seconds from a connection's accept until its request line and headers must all be in.
HEAD_SECONDS = 10.0
# A scrape's request head is a few hundred bytes.
HEAD_BYTES = 8192
# Connections part-way through their request head, and requests answered at once.
WAITING = 128
ANSWERING = 8
# Seconds a client may take to take in an answer.
SEND_SECONDS = 10.0
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_BUSY_BODY = b'{"title": "Service Unavailable", "status": 503}'
_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


def readiness_body(failures: dict[str, str]) -> tuple[int, bytes, str]:
    """The /readyz answer: 200 "ready", or 503 with a problem naming what failed."""
    if not failures:
        return 200, b'{"status": "ready"}', "application/json"
    problem = {
        "title": "Service Unavailable",
        "status": 503,
        "detail": "not ready: " + ", ".join(f"{k} {v}" for k, v in sorted(failures.items())),
        "checks": {name: "failed" for name in sorted(failures)},
    }
    return 503, json.dumps(problem).encode(), PROBLEM_MEDIA


class _Handler(BaseHTTPRequestHandler):
    """Answers one request whose head the server has already read (`request` is the socket
    and those bytes); HTTP/1.0, so the connection closes after the answer."""

    server: _MetricsServer  # type: ignore[assignment]

    def setup(self) -> None:
        self.connection, head = self.request
        self.rfile = io.BytesIO(head)
        self.wfile = self.connection.makefile("wb")

    def version_string(self) -> str:
        # No software or version in the Server header, as the API sends none.
        return "assure"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/livez":
            self._answer(200, b'{"status": "live"}', "application/json")
        elif path == "/readyz":
            self._answer(*readiness_body(self.server.readiness.failures()))
        elif (
            path == "/metrics"
            and not relayed(self.headers.keys())
            and address_allowed(self.client_address[0], self.server.allow)
        ):
            self._answer(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b'{"title": "Not Found", "status": 404}', PROBLEM_MEDIA)

    def _answer(self, status: int, body: bytes, media: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Scrapes every few seconds are not worth a line each; errors still are.
        pass


@dataclass
class _Arriving:
    """A connection still sending its request head."""

    address: tuple[str, int]
    deadline: float
    head: bytearray = field(default_factory=bytearray)


class _MetricsServer:
    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        readiness: Readiness,
        allow: tuple[Network, ...],
        head_seconds: float = HEAD_SECONDS,
        waiting: int = WAITING,
        answering: int = ANSWERING,
    ) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        # Not socket.create_server, which rewrites a bind error's text: `assure worker` prints
        # the operating system's own words ("Address already in use").
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(WAITING)
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()[:2]
        self.registry = registry
        self.readiness = readiness
        self.allow = allow
        self.head_seconds = head_seconds
        self.waiting = waiting
        self._answering = threading.BoundedSemaphore(answering)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.socket, selectors.EVENT_READ)
        # In the order they were accepted, which is also the order of their deadlines.
        self._arriving: dict[socket.socket, _Arriving] = {}
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(self._next_wake()):
                    if key.fileobj is self.socket:
                        self._accept()
                    else:
                        self._receive(key.fileobj)  # type: ignore[arg-type]
                self._drop_overdue()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait()

    def server_close(self) -> None:
        for connection in list(self._arriving):
            self._drop(connection)
        self._selector.close()
        self.socket.close()

    def _next_wake(self) -> float:
        if not self._arriving:
            return 0.5
        first = next(iter(self._arriving.values()))
        return min(0.5, max(0.0, first.deadline - time.monotonic()))

    def _accept(self) -> None:
        while True:
            try:
                connection, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors: make room, and do not spin on the listener
                if self._arriving:
                    self._drop(next(iter(self._arriving)))
                else:
                    time.sleep(0.05)
                return
            if len(self._arriving) >= self.waiting:
                self._drop(next(iter(self._arriving)))
            connection.setblocking(False)
            self._selector.register(connection, selectors.EVENT_READ)
            deadline = time.monotonic() + self.head_seconds
            self._arriving[connection] = _Arriving(address[:2], deadline)

    def _receive(self, connection: socket.socket) -> None:
        arriving = self._arriving.get(connection)
        if arriving is None:
            return
        try:
            data = connection.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        arriving.head += data
        end = _END_OF_HEAD.search(arriving.head)
        if end is None:
            if len(arriving.head) > HEAD_BYTES:
                self._drop(connection)
            return
        if end.end() > HEAD_BYTES:
            self._drop(connection)
            return
        self._selector.unregister(connection)
        del self._arriving[connection]
        self._dispatch(connection, arriving.address, bytes(arriving.head[: end.end()]))

    def _drop_overdue(self) -> None:
        now = time.monotonic()
        while self._arriving:
            connection, arriving = next(iter(self._arriving.items()))
            if arriving.deadline > now:
                return
            self._drop(connection)

    def _drop(self, connection: socket.socket) -> None:
        self._arriving.pop(connection, None)
        with suppress(KeyError, ValueError, OSError):
            self._selector.unregister(connection)
        connection.close()

    def _dispatch(self, connection: socket.socket, address: tuple[str, int], head: bytes) -> None:
        if not self._answering.acquire(blocking=False):
            with suppress(OSError):
                connection.send(_BUSY)  # non-blocking: a client not reading gets nothing
            connection.close()
            return
        threading.Thread(
            target=self._answer,
            args=(connection, address, head),
            name="metrics-answer",
            daemon=True,
        ).start()

    def _answer(self, connection: socket.socket, address: tuple[str, int], head: bytes) -> None:
        try:
            connection.setblocking(True)
            connection.settimeout(SEND_SECONDS)
            _Handler((connection, head), address, self)  # type: ignore[arg-type]
        except OSError:
            pass  # the client went away or would not take the answer in time
        except Exception:
            log.exception("metrics endpoint: answering %s failed", address[0])
        finally:
            connection.close()
            self._answering.release()


@contextmanager
def metrics_endpoint(
    host: str,
    port: int,
    registry: CollectorRegistry,
    readiness: Readiness,
    allow: tuple[Network, ...],
    head_seconds: float = HEAD_SECONDS,
    waiting: int = WAITING,
    answering: int = ANSWERING,
) -> Iterator[tuple[str, int]]:
    """Serve in a background thread until the block ends; yields the bound address."""
    server = _MetricsServer(
        (host, port), registry, readiness, allow, head_seconds, waiting, answering
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    log.info("metrics on http://%s:%d/metrics", host, server.server_address[1])
    try:
        yield host, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
