"""A peer that drips its answer (a byte at a time, each inside the per-read timeout) is cut at
the fetch's total deadline, in the headers as in the body, and the API check says why."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable

import pytest

from checks.api.check import run_api_check
from checks.egress import EgressPolicy
from checks.fetch import FetchError, fetch, status_of
from checks.report import ReportStatus
from tests.peers.apis import build_spec
from tests.peers.certificates import make_certificate
from tests.peers.servers import serving

LOOPBACK = EgressPolicy.loopback_only()
DRIP_SECONDS = 0.3  # between bytes: well inside the one-second per-read timeout below
DRIP_FOR_AT_MOST = 12.0  # the peer gives up by itself, so a fetch without a deadline still ends


def _dripping(head: bytes, tail: bytes) -> Callable[[socket.socket], None]:
    """Send `head` at once, then `tail` one byte every DRIP_SECONDS."""

    def handle(sock: socket.socket) -> None:
        sock.recv(4096)
        sock.sendall(head)
        ends = time.monotonic() + DRIP_FOR_AT_MOST
        for byte in tail:
            if time.monotonic() > ends:
                return
            sock.sendall(bytes([byte]))
            time.sleep(DRIP_SECONDS)

    return handle


HEADERS_DRIP = _dripping(b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 200 + b"\r\n\r\n")
BODY = b'{"openapi": "3.0.3", "pad": "' + b"x" * 200 + b'"}'
BODY_DRIP = _dripping(
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode(),
    BODY,
)


@pytest.mark.parametrize("handler", [HEADERS_DRIP, BODY_DRIP], ids=["headers", "body"])
def test_a_dripping_peer_is_cut_at_the_total_deadline(handler) -> None:
    with serving(handler) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="total deadline of 2s"):
            fetch(f"http://127.0.0.1:{server.port}/openapi.json", LOOPBACK, 1.0, deadline_seconds=2)
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, f"took {elapsed:.1f}s"


def test_the_deadline_defaults_to_three_timeouts() -> None:
    with serving(BODY_DRIP) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="total deadline of 3s"):
            fetch(f"http://127.0.0.1:{server.port}/openapi.json", LOOPBACK, timeout=1.0)
    assert time.monotonic() - started < 4.5


def test_a_status_read_is_bounded_by_the_deadline_as_well() -> None:
    with serving(HEADERS_DRIP) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            status_of(f"http://127.0.0.1:{server.port}/", LOOPBACK, {}, 1.0, deadline_seconds=2)
    assert time.monotonic() - started < 3.5


def test_a_slow_but_honest_peer_within_the_deadline_is_read_in_full() -> None:
    short = b'{"openapi": "3.0.3"}'
    honest = _dripping(
        b"HTTP/1.1 200 OK\r\n" + f"Content-Length: {len(short)}\r\n\r\n".encode(), short[:-3]
    )

    def handle(sock: socket.socket) -> None:
        honest(sock)
        sock.sendall(short[-3:])

    with serving(handle) as server:
        body = fetch(f"http://127.0.0.1:{server.port}/", LOOPBACK, 1.0, deadline_seconds=20)
    assert body == short


def test_a_dripping_description_server_is_a_not_assessable_report_naming_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("checks.api.spec.FETCH_DEADLINE_SECONDS", 2.0)
    with serving(HEADERS_DRIP) as server:
        started = time.monotonic()
        report = run_api_check(f"http://127.0.0.1:{server.port}/openapi.json", LOOPBACK)
    assert time.monotonic() - started < 4
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert "total deadline" in report.findings[0].evidence["errors"][0]


def test_a_remote_ref_to_a_dripping_server_is_cut_and_named(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("checks.api.spec.FETCH_DEADLINE_SECONDS", 2.0)
    spec = build_spec(False)
    with serving(BODY_DRIP) as server:
        spec["components"]["schemas"]["Remote"] = {
            "$ref": f"http://127.0.0.1:{server.port}/schemas.json#/Thing"
        }
        source = tmp_path / "openapi.json"
        source.write_text(json.dumps(spec))
        started = time.monotonic()
        report = run_api_check(str(source), LOOPBACK)
    assert time.monotonic() - started < 6
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert "total deadline of 2s" in json.dumps(report.findings[0].evidence)


def _tls(handler: Callable[[socket.socket], None], folder) -> Callable[[socket.socket], None]:
    cert, key = make_certificate(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def handle(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as wrapped:
            handler(wrapped)

    return handle


def test_a_peer_dripping_inside_tls_is_cut_at_the_deadline_too(tmp_path) -> None:
    with serving(_tls(HEADERS_DRIP, tmp_path)) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="total deadline of 2s"):
            fetch(
                f"https://127.0.0.1:{server.port}/", LOOPBACK, 1.0, verify=False, deadline_seconds=2
            )
    assert time.monotonic() - started < 3.5


def test_the_deadline_transport_still_verifies_certificates(tmp_path) -> None:
    with (
        serving(_tls(BODY_DRIP, tmp_path)) as server,
        pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        fetch(f"https://127.0.0.1:{server.port}/", LOOPBACK, 1.0, deadline_seconds=5)
