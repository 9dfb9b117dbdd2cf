"""Egress policy: checks fetch supplier-given targets, so where they may connect is decided here.

A name is resolved once; every address it resolves to is vetted; the probe then connects to the
vetted address itself, so a second DNS answer cannot redirect it (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from posture.config import Settings
from posture.errors import AssureError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges Python does not already call private but that must not be reached either.
EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24")]


class EgressRefused(AssureError):
    """The target is somewhere checks may not go."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    address: str
    family: int

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def _blocked_reason(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _blocked_reason(address.ipv4_mapped)
    for attribute, reason in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local (including cloud metadata)"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(address, attribute):
            return reason
    if any(address in network for network in EXTRA_BLOCKED):
        return "shared or special-purpose"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(tuple(ipaddress.ip_network(c, strict=False) for c in settings.egress_allow))

    @classmethod
    def loopback_only(cls) -> EgressPolicy:
        return cls((ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")))

    def vet(self, address: IPAddress) -> str | None:
        """None when the address may be reached, else why not."""
        if any(address in network for network in self.allow):
            return None
        return _blocked_reason(address)

    def resolve(self, host: str, port: int) -> Target:
        if not 1 <= port <= 65535:
            raise EgressRefused(f"port {port} is out of range")
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise EgressRefused(f"cannot resolve {host}: {exc}") from exc
        refusals = []
        for family, _type, _proto, _name, sockaddr in answers:
            address = ipaddress.ip_address(sockaddr[0])
            reason = self.vet(address)
            if reason is None:
                return Target(host, port, str(address), family)
            refusals.append(f"{address} is {reason}")
        raise EgressRefused(
            f"{host}:{port} refused by the egress policy ({'; '.join(refusals)}); "
            "allow it with ASSURE_EGRESS_ALLOW if it is a system you own"
        )


def split_host_port(value: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:443', '[::1]:443' or '::1' -> (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        if not port.isdigit():
            raise EgressRefused(f"{value!r}: the port must be a number")
        return host, int(port)
    return value, default_port
