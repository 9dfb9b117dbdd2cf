"""One probe = one TCP connection to the vetted address: send a ClientHello, read the answer."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from checks.egress import Target
from checks.tls.wire import (
    CLASSICAL_GROUPS,
    LEGACY_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    Outcome,
    ServerAnswer,
    client_hello,
    read_answer,
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


def run_probe(probe: Probe, target: Target, timeout: float = DEFAULT_TIMEOUT) -> ServerAnswer:
    try:
        with socket.socket(target.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((target.address, target.port))
            sock.sendall(hello_for(probe, target))
            return read_answer(sock, timeout)
    except TimeoutError:
        return ServerAnswer(Outcome.TIMEOUT, detail=f"no answer within {timeout:g}s")
    except (ConnectionRefusedError, OSError) as exc:
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            return ServerAnswer(Outcome.CLOSED, detail=str(exc))
        return ServerAnswer(Outcome.UNREACHABLE, detail=str(exc))


def run_probes(
    probes: list[Probe], target: Target, workers: int = 8, timeout: float = DEFAULT_TIMEOUT
) -> dict[Probe, ServerAnswer]:
    """Probes of one endpoint run side by side; each is its own connection."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(probes)))) as pool:
        answers = pool.map(lambda p: run_probe(p, target, timeout), probes)
        return dict(zip(probes, answers, strict=True))
