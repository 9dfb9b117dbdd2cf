"""A client that sends its request headers slowly, or nothing at all, loses its connection within
a bound, while other clients are served as usual (uvicorn on loopback, raw sockets)."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from partner_api.server import HEADER_READ_TIMEOUT, HeaderTimeoutProtocol, server_options
from tests.partner_api.live import serving_api

QUICK_TIMEOUT = 1.0
# Generous for a loaded 2-core machine, and still far below "forever".
SLACK = 2.0


class QuickHeaderTimeout(HeaderTimeoutProtocol):
    header_timeout = QUICK_TIMEOUT


def _seconds_until_closed(sock: socket.socket, drip: bytes, give_up: float) -> float | None:
    """Send `drip` a byte every 0.2 s until the server closes the socket; seconds it took."""
    started = time.monotonic()
    for byte in [drip[i : i + 1] for i in range(len(drip))]:
        try:
            sock.sendall(byte)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
        if time.monotonic() - started > give_up:
            return None
    return None


def _seconds_until_silent_socket_closed(sock: socket.socket, give_up: float) -> float | None:
    started = time.monotonic()
    readable, _, _ = select.select([sock], [], [], give_up)
    if readable and sock.recv(4096) == b"":
        return time.monotonic() - started
    return None


def test_the_api_server_bounds_header_time_and_keeps_alive_as_uvicorn_does() -> None:
    options = server_options()
    assert options["http"] is HeaderTimeoutProtocol
    assert HEADER_READ_TIMEOUT <= 10
    assert options["timeout_keep_alive"] <= 5


def test_a_request_line_sent_a_byte_at_a_time_is_cut_off_and_others_are_served(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, _ = api_template
    with serving_api(template, tmp_path / "data", http=QuickHeaderTimeout) as live:
        slow = socket.create_connection((live.host, live.port), timeout=5)
        try:
            slow.sendall(b"GET /v1/fr")
            # Meanwhile another client is answered at once.
            assert httpx.get(f"{live.url}/v1/framework", timeout=5).status_code == 200
            drip = b"amework HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
            closed_after = _seconds_until_closed(slow, drip, give_up=QUICK_TIMEOUT + 10)
        finally:
            slow.close()
        assert closed_after is not None, "the slow connection was still open"
        assert closed_after <= QUICK_TIMEOUT + SLACK
        assert httpx.get(f"{live.url}/v1/framework", timeout=5).status_code == 200


def test_a_connection_that_never_sends_a_byte_is_closed(api_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template, _ = api_template
    with serving_api(template, tmp_path / "data", http=QuickHeaderTimeout) as live:
        with socket.create_connection((live.host, live.port), timeout=5) as silent:
            closed_after = _seconds_until_silent_socket_closed(silent, QUICK_TIMEOUT + 10)
        assert closed_after is not None, "the silent connection was still open"
        assert closed_after <= QUICK_TIMEOUT + SLACK


def test_a_slow_second_request_on_a_kept_alive_connection_is_cut_off(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The keep-alive clock stops at the next request's first byte; the header clock then runs."""
    template, _ = api_template
    with serving_api(
        template, tmp_path / "data", http=QuickHeaderTimeout, timeout_keep_alive=30
    ) as live:
        with socket.create_connection((live.host, live.port), timeout=5) as conn:
            conn.sendall(b"GET /v1/framework HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = conn.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ")
            _drain(conn)
            closed_after = _seconds_until_closed(
                conn, b"GET /v1/framework HTTP/1.1\r\n" + b"X" * 200, give_up=QUICK_TIMEOUT + 10
            )
        assert closed_after is not None, "the slow second request kept the connection"
        assert closed_after <= QUICK_TIMEOUT + SLACK


def test_a_next_request_begun_with_the_last_body_bytes_is_still_timed(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A response sent before its request's body is in (here a 404) ends the cycle while the
    body still arrives; the first byte of a next request in the same read must start the clock."""
    template, _ = api_template
    with serving_api(
        template, tmp_path / "data", http=QuickHeaderTimeout, timeout_keep_alive=30
    ) as live:
        with socket.create_connection((live.host, live.port), timeout=5) as conn:
            conn.sendall(
                b"POST /v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n"
            )
            assert conn.recv(65536).startswith(b"HTTP/1.1 404 ")
            _drain(conn)
            conn.sendall(b"0123456789G")
            closed_after = _seconds_until_silent_socket_closed(conn, QUICK_TIMEOUT + 10)
        assert closed_after is not None, "the begun request kept the connection"
        assert closed_after <= QUICK_TIMEOUT + SLACK


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, _ = api_template
    with serving_api(
        template, tmp_path / "data", http=HeaderTimeoutProtocol, timeout_keep_alive=1
    ) as live:
        with socket.create_connection((live.host, live.port), timeout=5) as conn:
            conn.sendall(b"GET /v1/framework HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
            _drain(conn)
            closed_after = _seconds_until_silent_socket_closed(conn, 1 + 10)
        assert closed_after is not None
        assert closed_after <= 1 + SLACK


@pytest.mark.parametrize("pause", [0.0, QUICK_TIMEOUT * 0.6])
def test_a_slow_endpoint_or_pause_between_requests_is_not_cut_off(
    api_template, tmp_path: Path, pause: float
) -> None:  # type: ignore[no-untyped-def]
    """Headers that arrive in time are served however long the whole exchange lasts."""
    template, _ = api_template
    with (
        serving_api(template, tmp_path / "data", http=QuickHeaderTimeout) as live,
        httpx.Client(base_url=live.url, timeout=5) as client,
    ):
        for _ in range(3):
            assert client.get("/v1/framework").status_code == 200
            time.sleep(pause)


def _drain(conn: socket.socket) -> None:
    """Read whatever is left of the response so the next read sees only what follows."""
    while select.select([conn], [], [], 0.3)[0]:
        if conn.recv(65536) == b"":
            return
