"""The network guard a sandboxed process installs before it imports anything that talks.

It is a CPython audit hook: every socket connect, datagram send, name lookup and process
launch made by Python code in the process, by any library, raises an audit event first, and
the hook refuses the ones the policy does not allow. A hook cannot be removed once added, so
code that runs later (schemathesis, requests, a parser) cannot switch it off.

Only the standard library is imported here: the guard must be in place before anything else.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from kernel.process_events import PROCESS_EVENTS

INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)
LOOKUP_EVENTS = ("socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo")
MAX_RECORDED = 200


class EgressBlocked(ConnectionRefusedError):
    """Raised inside the sandbox instead of the refused operation: libraries treat it as a
    refused connection, so a run ends with an error rather than a verdict built on it."""


@dataclass
class GuardRules:
    """What the process may do. `vet` judges a destination address (None allows it); with
    `endpoints` set, only those exact (address, port) pairs may be reached at all, and names
    are resolved from `pins` alone, so no DNS answer given later can move a connection."""

    vet: Callable[[str], str | None]
    endpoints: frozenset[tuple[str, int]] | None = None
    pins: dict[str, str] = field(default_factory=dict)
    may_launch: Callable[[str, list[str]], bool] = lambda _exe, _args: False
    # Servers the administrator named (the DNS servers checks resolve with): reachable
    # whatever `vet` says, since the policy's own lookups go to them.
    infrastructure: frozenset[tuple[str, int]] = frozenset()


class NetworkGuard:
    def __init__(self, rules: GuardRules, record_fd: int | None) -> None:
        self.rules = rules
        self.record_fd = record_fd
        self.recorded = 0

    def _refuse(self, event: str, detail: str, reason: str) -> None:
        if self.record_fd is not None and self.recorded < MAX_RECORDED:
            self.recorded += 1
            line = json.dumps({"event": event, "target": detail, "reason": reason})
            os.write(self.record_fd, (line + "\n").encode())
        raise EgressBlocked(f"egress policy: {event} to {detail} refused ({reason})")

    def _destination(self, event: str, sock: object, address: object) -> None:
        family = getattr(sock, "family", None)
        if family not in INET_FAMILIES:
            self._refuse(event, repr(address)[:200], "only IP sockets may be used")
        if not isinstance(address, tuple) or len(address) < 2:
            self._refuse(event, repr(address)[:200], "unreadable address")
        host, port = str(address[0]), int(address[1])
        detail = f"{host}:{port}"
        if (host, port) in self.rules.infrastructure:
            return
        reason = self.rules.vet(host)
        if reason is not None:
            self._refuse(event, detail, reason)
        if self.rules.endpoints is not None and (host, port) not in self.rules.endpoints:
            self._refuse(event, detail, "not the address the policy vetted for this run")

    def _lookup(self, host: object) -> None:
        if host is None or self.rules.endpoints is None:
            return
        text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        if text not in {address for address, _port in self.rules.endpoints}:
            self._refuse("socket.getaddrinfo", text[:200], "names are not resolved in this run")

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            if event == "socket.sendmsg" and (len(args) < 2 or args[1] is None):
                return  # a connected socket: its destination was vetted at connect
            self._destination(event, args[0], args[1])
        elif event == "socket.getaddrinfo":
            self._lookup(args[0])
        elif event in LOOKUP_EVENTS:
            if self.rules.endpoints is not None:
                self._refuse(event, repr(args[0])[:200], "names are not resolved in this run")
        elif event in PROCESS_EVENTS:
            executable = str(args[0]) if args else ""
            argv = [str(a) for a in args[1]] if len(args) > 1 and args[1] else []
            if event != "subprocess.Popen" or not self.rules.may_launch(executable, argv):
                self._refuse(event, executable[:200], "checks may not start other programs")


def _pinned_getaddrinfo(pins: dict[str, str]) -> Callable[..., list]:  # type: ignore[type-arg]
    original = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        key = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if isinstance(key, str):
            key = key.lower().rstrip(".")
            host = pins.get(key, host)
        return original(host, port, family, type, proto, flags)

    return getaddrinfo


def install(rules: GuardRules, record_fd: int | None = None) -> NetworkGuard:
    guard = NetworkGuard(rules, record_fd)
    if rules.pins:
        socket.getaddrinfo = _pinned_getaddrinfo(rules.pins)
    sys.addaudithook(guard)
    return guard
