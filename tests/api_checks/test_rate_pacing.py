"""The preflight and the probes keep to the user's rate limit ("2/s"), together: one pace for
the run, measured where it matters, at a real server's door."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from checks.api.live_probes.client import ProbeClient
from checks.api.preflight import preflight
from checks.egress import EgressPolicy
from checks.fetch import RequestPace, for_run

LOOPBACK = EgressPolicy.loopback_only()
OK = {"200": {"description": "ok"}}
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Paced", "version": "1"},
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {p: {"get": {"responses": OK}} for p in ("/me", "/notes", "/report")},
}
INTERVAL = 0.5  # at 2/s
# The pace spaces the sends; what reaches the server also varies with each request's own setup
# (the first one builds its TLS context), so one gap may come up to this much short.
JITTER = 0.1


@contextmanager
def timing_server() -> Iterator[tuple[str, list[float]]]:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            return

        def do_GET(self) -> None:
            arrivals.append(time.monotonic())
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrivals
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _assert_paced(arrivals: list[float]) -> None:
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= INTERVAL - JITTER, gaps
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * INTERVAL - JITTER / 2, gaps


def test_the_preflight_keeps_to_two_requests_a_second() -> None:
    with timing_server() as (url, arrivals):
        policy = for_run(LOOPBACK, url, "2/s")
        answers = preflight(SPEC, url, ["token-a", "token-b"], policy, 2.0, 60)
    assert answers is not None
    assert len(arrivals) == 6  # three operations for each of two identities
    _assert_paced(arrivals)


def test_the_probes_share_the_preflights_pace() -> None:
    with timing_server() as (url, arrivals):
        policy = for_run(LOOPBACK, url, "2/s")
        preflight(SPEC, url, ["token-a"], policy, 2.0, 60)
        # A probe client built as the runner builds it, with its own (faster) rate: the run's
        # pace, carried by the run's policy, is the one it keeps to.
        client = ProbeClient(policy, 2.0, time.monotonic() + 10, 200.0, 4096)
        for _ in range(2):
            assert client.send("GET", f"{url}/me", {}) is not None
    assert len(arrivals) == 5
    _assert_paced(arrivals)


def test_a_pace_gives_up_a_slot_past_the_deadline_without_taking_it() -> None:
    pace = RequestPace(1.0)
    assert pace.slot() == 0.0
    assert pace.slot(time.monotonic() + 0.2) is None  # the next slot is a second away
    waited = pace.slot()
    assert waited is not None
    assert 0.9 < waited <= 1.0
