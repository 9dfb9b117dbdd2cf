"""Fetch a supplier-given URL through the egress policy: resolve once, connect to the vetted
address, keep the host name for the Host header, SNI and certificate checks; cap the size and
the total time.

httpx's timeouts bound each socket operation, so a peer that sends one byte a second (in the
headers or the body) never trips them. Every fetch here has a total deadline as well: each
connect, TLS handshake and read is given at most the time left, and a watchdog shuts the
sockets down when it runs out, so even a read inside a TLS record cannot outlast it.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from checks.egress import EgressPolicy, EgressRefused, Target, parse_url

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# Wall clock for a whole fetch (connect, headers, body) when the caller names none: three
# per-operation timeouts, enough for a large description on a slow but honest link.
DEADLINE_TIMEOUTS = 3
# A request rate as schemathesis reads it: "200/s", "10/m", "5/2s".
RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*([smhd])\s*$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class FetchError(ValueError):
    pass


class DeadlinePassed(httpcore.ReadTimeout):
    """Raised inside the transport when the total deadline has run out."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.fired = False

    def left(self, timeout: float | None) -> float:
        remaining = self.ends - time.monotonic()
        if remaining <= 0 or self.fired:
            raise DeadlinePassed(f"total deadline of {self.seconds:g}s passed")
        return remaining if timeout is None else min(timeout, remaining)

    @property
    def passed(self) -> bool:
        return self.fired or time.monotonic() >= self.ends

    def watch(self, stream: httpcore.NetworkStream) -> None:
        sock = stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with self.lock:
                self.sockets.append(sock)

    def fire(self) -> None:
        # shutdown, not close: it wakes a recv blocked in another thread and leaves the file
        # descriptor to its owner, so nothing else can be handed the same number meanwhile.
        with self.lock:
            self.fired = True
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self.inner = inner
        self.deadline = deadline
        deadline.watch(inner)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self.inner.read(max_bytes, self.deadline.left(timeout))
        self.deadline.left(None)  # a read the watchdog cut short is the deadline, not the peer
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self.inner.start_tls(ssl_context, server_hostname, self.deadline.left(timeout))
        return _DeadlineStream(tls, self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self.inner = httpcore.SyncBackend()
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, self.deadline.left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self.deadline)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(min(seconds, self.deadline.left(None)))


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds; a probe burst sends dozens of requests.
    return httpx.create_ssl_context()


def _transport(verify: bool | str, deadline: _Deadline) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=_verifying_context() if verify is True else verify)
    # httpx builds its pool without a way to name the network backend; this one is rebuilt with
    # the same TLS context and the deadline's backend (no proxy, no HTTP/2: as httpx's default).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=transport._pool._ssl_context,
        network_backend=_DeadlineBackend(deadline),
    )
    return transport


@contextlib.contextmanager
def _bounded(
    url: str, verify: bool | str, timeout: float, deadline_seconds: float | None
) -> Iterator[tuple[httpx.Client, _Deadline]]:
    deadline = _Deadline(deadline_seconds if deadline_seconds else timeout * DEADLINE_TIMEOUTS)
    watchdog = threading.Timer(deadline.seconds, deadline.fire)
    watchdog.daemon = True
    watchdog.start()
    try:
        with httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # No proxies from the environment: they would bypass the deadline's transport.
            trust_env=False,
            transport=_transport(verify, deadline),
        ) as client:
            yield client, deadline
    except httpx.HTTPError as exc:
        if deadline.passed:
            raise FetchError(
                f"{url} did not answer in full within the total deadline of "
                f"{deadline.seconds:g}s (connect, headers and body together)"
            ) from exc
        raise FetchError(f"cannot fetch {url}: {exc}") from exc
    finally:
        watchdog.cancel()


def _pinned(url: str, policy: EgressPolicy) -> tuple[str, str, str]:
    """The URL with its host replaced by the vetted address, the Host header, and the SNI name."""
    try:
        parsed = parse_url(url)
    except EgressRefused as exc:
        raise FetchError(str(exc)) from exc
    parts, port = urlsplit(parsed.url), parsed.port
    target = policy.resolve(parsed.host, port)
    literal = target.address
    if isinstance(ipaddress.ip_address(literal), ipaddress.IPv6Address):
        literal = f"[{literal}]"
    pinned = f"{parts.scheme}://{literal}:{port}{parts.path or '/'}"
    if parts.query:
        pinned += f"?{parts.query}"
    return pinned, parts.netloc.rsplit("@")[-1], parsed.host


def status_of(
    url: str,
    policy: EgressPolicy,
    headers: dict[str, str],
    timeout: float = 10.0,
    deadline_seconds: float | None = None,
) -> int:
    """The status a GET of `url` with `headers` answers, reading none of the body. The server's
    certificate is verified: the headers carry the supplier's credentials."""
    pinned, host, sni = _pinned(url, policy)
    with (
        _bounded(url, True, timeout, deadline_seconds) as (client, _),
        client.stream(
            "GET", pinned, headers={**headers, "Host": host}, extensions={"sni_hostname": sni}
        ) as response,
    ):
        return response.status_code


def fetch(
    url: str,
    policy: EgressPolicy,
    timeout: float = 10.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    verify: bool | str = True,
    deadline_seconds: float | None = None,
) -> bytes:
    """The body of a 200 answer to GET `url`; FetchError past `max_bytes` or the deadline
    (`deadline_seconds`, or three times `timeout`) for the whole exchange."""
    pinned, host, sni = _pinned(url, policy)
    with (
        _bounded(url, verify, timeout, deadline_seconds) as (client, deadline),
        client.stream(
            "GET", pinned, headers={"Host": host}, extensions={"sni_hostname": sni}
        ) as response,
    ):
        if response.status_code != 200:
            raise FetchError(f"{url} answered HTTP {response.status_code}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise FetchError(f"{url} sent more than {max_bytes} bytes")
            if deadline.passed:
                raise FetchError(
                    f"{url} did not answer in full within the total deadline of "
                    f"{deadline.seconds:g}s (connect, headers and body together)"
                )
        return bytes(body)


def exchange(
    method: str,
    url: str,
    policy: EgressPolicy,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float = 10.0,
    max_bytes: int = 64 * 1024,
) -> tuple[int, httpx.Headers, bytes]:
    """Send one request of any method through the egress policy, never following a redirect:
    the status, the headers and at most `max_bytes` of the body (the rest is left unread). The
    whole exchange, headers included, ends within `timeout` (a peer may drip its headers), and
    the server's certificate is verified, as the request carries the supplier's credentials."""
    pinned, host, sni = _pinned(url, policy)
    with (
        _bounded(url, True, timeout, timeout) as (client, deadline),
        client.stream(
            method,
            pinned,
            headers={**headers, "Host": host},
            content=body,
            extensions={"sni_hostname": sni},
        ) as response,
    ):
        kept = bytearray()
        for chunk in response.iter_bytes():
            kept.extend(chunk)
            if len(kept) >= max_bytes or deadline.passed:
                break
        return response.status_code, response.headers, bytes(kept[:max_bytes])


def requests_per_second(rate_limit: str | None) -> float | None:
    """schemathesis's rate limit ("200/s", "10/m", "5/2s") as requests a second; None when the
    user set none. A setting this cannot read is taken as one request a second: slow, never
    faster than meant."""
    if rate_limit is None:
        return None
    match = RATE.match(rate_limit)
    if not match:
        return 1.0
    count, multiple, unit = float(match[1]), int(match[2] or 1), match[3]
    period = multiple * SECONDS[unit]
    return count / period if count > 0 and period > 0 else 1.0


class RequestPace:
    """At most `per_second` requests, however many callers send them: one of these per run
    keeps the preflight and the probes together to the user's rate (schemathesis, a separate
    process in between, keeps to it by its own --rate-limit)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()

    def slot(self, deadline: float | None = None) -> float | None:
        """Seconds to wait before sending, with the slot taken; None (and nothing taken) when
        the slot falls at or past `deadline` (a time.monotonic() value)."""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at)
            if deadline is not None and at >= deadline:
                return None
            self._next_at = at + self.interval
            return at - now

    def done(self) -> None:
        """The request just answered (or failed): the next waits a whole interval from now. Its
        slot alone spaces the sends, and a send's own setup (a TLS context, a slow connect) can
        bring two arrivals at the server closer than that; spaced from the answer, arrivals
        cannot be (a request arrives before it is answered)."""
        with self._lock:
            self._next_at = max(self._next_at, time.monotonic() + self.interval)

    def wait(self, deadline: float | None = None) -> bool:
        """Sleep until this request may go; False when it could not go before `deadline`."""
        pause = self.slot(deadline)
        if pause is None:
            return False
        if pause > 0:
            time.sleep(pause)
        return True


@dataclass(frozen=True)
class RunEgress(EgressPolicy):
    """The egress policy for one live run: the base URL's host resolved once and vetted, and
    every later request of the run (preflight, probes, schemathesis's guard) sent to that
    address, so a second DNS answer cannot move it (DNS rebinding); the name stays in the Host
    header and SNI. Anywhere else is refused. It carries the run's request pace too."""

    target: Target | None = None
    pace: RequestPace = field(default_factory=lambda: RequestPace(None), compare=False)

    def resolve(self, host: str, port: int) -> Target:
        pinned = self.target
        if pinned is None or (host.lower().rstrip("."), port) != (
            pinned.host.lower().rstrip("."),
            pinned.port,
        ):
            raise EgressRefused(f"{host}:{port} is not the address vetted for this run")
        return pinned


def for_run(policy: EgressPolicy, base_url: str, rate_limit: str | None) -> RunEgress:
    """Resolve and vet the base URL's host once (EgressRefused when the policy forbids it)."""
    parsed = parse_url(base_url)
    target = policy.resolve(parsed.host, parsed.port)
    return RunEgress(
        allow=policy.allow,
        dns_servers=policy.dns_servers,
        target=target,
        pace=RequestPace(requests_per_second(rate_limit)),
    )


def run_pace(policy: EgressPolicy) -> RequestPace:
    """The run's shared pace, or none at all for a plain policy."""
    return policy.pace if isinstance(policy, RunEgress) else RequestPace(None)


__all__ = [
    "EgressRefused",
    "FetchError",
    "RequestPace",
    "RunEgress",
    "exchange",
    "fetch",
    "for_run",
    "requests_per_second",
    "run_pace",
    "status_of",
]
