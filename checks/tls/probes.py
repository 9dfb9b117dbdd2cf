"""Probes: one TCP connection each to the vetted address, a ClientHello, the server's answer.

All probes of an endpoint run at once on one thread with non-blocking sockets and a selector, so
probing costs a connection per question and no thread per connection.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from dataclasses import dataclass

from checks.egress import Target
from checks.tls.wire import (
    CLASSICAL_GROUPS,
    LEGACY_SUITES,
    MAX_READ,
    TLS12_SUITES,
    TLS13_SUITES,
    Outcome,
    ServerAnswer,
    answer_at_end,
    client_hello,
    parse_answer,
)

DEFAULT_TIMEOUT = 3.0


@dataclass(frozen=True)
class GroupProbe:
    group: int


@dataclass(frozen=True)
class VersionProbe:
    version: int


Probe = GroupProbe | VersionProbe


def _server_name(target: Target) -> str | None:
    # SNI carries host names only, never literal addresses (RFC 6066).
    try:
        socket.inet_pton(target.family, target.host)
    except OSError:
        return target.host
    return None


def hello_for(probe: Probe, target: Target) -> bytes:
    name = _server_name(target)
    if isinstance(probe, GroupProbe):
        return client_hello(name, 0x0304, [probe.group], TLS13_SUITES)
    if probe.version == 0x0304:
        return client_hello(name, 0x0304, list(CLASSICAL_GROUPS), TLS13_SUITES)
    suites = TLS12_SUITES + LEGACY_SUITES if probe.version == 0x0303 else LEGACY_SUITES
    return client_hello(name, probe.version, list(CLASSICAL_GROUPS), suites)


class _Connection:
    def __init__(self, probe: Probe, target: Target) -> None:
        self.probe = probe
        self.hello = hello_for(probe, target)
        self.sent = 0
        self.buffer = bytearray()
        self.sock = socket.socket(target.family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.answer: ServerAnswer | None = None
        code = self.sock.connect_ex((target.address, target.port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self.finish(ServerAnswer(Outcome.UNREACHABLE, detail=errno.errorcode.get(code, "")))

    def finish(self, answer: ServerAnswer) -> None:
        self.answer = answer
        self.sock.close()

    def on_writable(self) -> None:
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self.finish(ServerAnswer(Outcome.UNREACHABLE, detail=errno.errorcode.get(error, "")))
            return
        try:
            self.sent += self.sock.send(self.hello[self.sent :])
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.finish(ServerAnswer(Outcome.CLOSED, detail=str(exc)))

    def on_readable(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.finish(ServerAnswer(Outcome.CLOSED, detail=str(exc)))
            return
        except BlockingIOError:
            return
        if not chunk:
            self.finish(answer_at_end(self.buffer))
            return
        self.buffer.extend(chunk)
        if len(self.buffer) > MAX_READ:
            self.finish(ServerAnswer(Outcome.OVERSIZED, detail=f"more than {MAX_READ} bytes"))
            return
        answer = parse_answer(self.buffer)
        if answer is not None:
            self.finish(answer)

    @property
    def events(self) -> int:
        return selectors.EVENT_WRITE if self.sent < len(self.hello) else selectors.EVENT_READ


def run_probes(
    probes: list[Probe], target: Target, timeout: float = DEFAULT_TIMEOUT
) -> dict[Probe, ServerAnswer]:
    """Every probe of one endpoint at once; each is its own connection, bounded by `timeout`."""
    connections = [_Connection(probe, target) for probe in probes]
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for connection in connections:
            if connection.answer is None:
                selector.register(connection.sock, connection.events, connection)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, mask in selector.select(remaining):
                connection: _Connection = key.data
                if mask & selectors.EVENT_WRITE:
                    connection.on_writable()
                elif mask & selectors.EVENT_READ:
                    connection.on_readable()
                if connection.answer is not None:
                    selector.unregister(key.fileobj)
                elif connection.events != key.events:
                    selector.modify(key.fileobj, connection.events, connection)
    for connection in connections:
        if connection.answer is None:
            connection.finish(
                ServerAnswer(Outcome.TIMEOUT, detail=f"no answer within {timeout:g}s")
            )
    return {c.probe: c.answer for c in connections if c.answer is not None}
