"""The worker's metrics endpoint under hostile clients: connections that trickle their request
hold no thread and are cut off at a deadline for the whole request head, so a scrape is still
answered; requests beyond the answering limit are refused at once; an oversized head is
dropped."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.observability.exposition import WAITING, metrics_endpoint
from posture.observability.readiness import Probe, Readiness
from posture.observability.series import networks
from tests.identity.world import World
from tests.observability.conftest import get
from tests.peers.processes import free_port, serving
from tests.peers.workers import worker_env

PARTIAL_HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
LOOPBACK = networks(["127.0.0.0/8"])


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def _slow_clients(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    """`count` connections that have sent part of a request head and then nothing more."""
    clients = []
    for _ in range(count):
        client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        client.sendall(PARTIAL_HEAD)
        clients.append(client)
    return clients


def _timed_scrape(url: str) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = get(url)
    return status, time.monotonic() - started


def test_fifty_slow_connections_hold_no_thread_and_a_scrape_is_still_answered(
    world_db: tuple[World, sessionmaker[Session], Settings], tmp_path: Path
) -> None:
    _, _, settings = world_db
    port = free_port()
    argv = [sys.executable, "-m", "assure_cli.main", "worker", "--threads", "1"]
    argv += ["--metrics-port", str(port)]
    url = f"http://127.0.0.1:{port}"
    console = tmp_path / "worker.log"
    with serving(argv, worker_env(settings), f"{url}/livez", console=console) as worker:
        assert get(f"{url}/metrics")[0] == 200
        time.sleep(0.5)  # the scrape's estate read has finished and its thread ended
        before = _threads(worker.pid)
        with ExitStack() as stack:
            _slow_clients(port, 50, stack)
            time.sleep(0.5)
            during = _threads(worker.pid)
            first = _timed_scrape(f"{url}/metrics")
            # More slow clients than may wait at once: the oldest make way for newcomers.
            _slow_clients(port, WAITING * 2, stack)
            second = _timed_scrape(f"{url}/metrics")
            ready = get(f"{url}/readyz")[0]
    assert during <= before + 2, (before, during)
    assert first[0] == 200
    assert first[1] < 3
    assert second[0] == 200
    assert second[1] < 3
    assert ready == 200


@contextmanager
def _endpoint(readiness: Readiness | None = None, **limits: float) -> Iterator[int]:
    registry = CollectorRegistry(auto_describe=False)
    with metrics_endpoint(
        "127.0.0.1", 0, registry, readiness or Readiness(()), LOOPBACK, **limits
    ) as (_, port):
        yield port


def test_a_request_trickled_a_byte_at_a_time_is_cut_off_at_the_head_deadline() -> None:
    """A byte every 0.3 s never lets a per-read timeout expire; the deadline is for the whole
    request head, counted from the connection's accept."""
    with _endpoint(head_seconds=1.5) as port:
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        started = time.monotonic()
        client.sendall(b"GET /metrics HTTP/1.1\r\n")
        cut_after = None
        while time.monotonic() - started < 6:
            try:
                client.sendall(b"X")
                client.setblocking(False)
                closed = client.recv(1) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            client.setblocking(True)
            if closed:
                cut_after = time.monotonic() - started
                break
            time.sleep(0.3)
        client.close()
        assert get(f"http://127.0.0.1:{port}/livez")[0] == 200
    assert cut_after is not None, "the trickling connection was never closed"
    assert 1.4 <= cut_after < 3


def test_a_request_beyond_the_answering_limit_is_refused_at_once() -> None:
    release = threading.Event()
    hung = Probe("database", lambda: release.wait(10) and None, timeout=10)
    with _endpoint(Readiness((hung,)), answering=1) as port:
        url = f"http://127.0.0.1:{port}"
        holder = threading.Thread(target=get, args=(f"{url}/readyz",))
        holder.start()
        time.sleep(0.3)  # the one answering slot waits on the hung probe
        started = time.monotonic()
        refused = get(f"{url}/livez")
        refused_after = time.monotonic() - started
        release.set()
        holder.join(10)
        again = get(f"{url}/livez")[0]
    assert refused[0] == 503
    assert refused[1]["content-type"] == "application/problem+json"
    assert refused_after < 1
    assert again == 200


def test_an_oversized_request_head_is_dropped_and_the_endpoint_keeps_answering() -> None:
    with _endpoint() as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(PARTIAL_HEAD + b"X-Padding: " + b"a" * 20_000 + b"\r\n\r\n")
            try:
                answer = client.recv(100)
            except ConnectionResetError:
                answer = b""
        assert answer == b""
        assert get(f"http://127.0.0.1:{port}/livez")[0] == 200
