"""Egress policy: checks fetch supplier-given targets, so where they may connect is decided here.

A name is resolved once; every address it resolves to is vetted; the probe then connects to the
vetted address itself, so a second DNS answer cannot redirect it (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.errors import AssureError

if TYPE_CHECKING:
    # Only for from_settings' signature: the sandbox child builds its policy from the order and
    # never loads the settings model.
    from kernel.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges Python does not already call private but that must not be reached either: carrier-grade
# NAT, IETF protocol assignments, the deprecated 6to4 relay anycast (it forwards to whatever a
# 6to4 address embeds), deprecated IPv6 site-local, and the newer IPv6 documentation prefix.
EXTRA_BLOCKED = [
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "fec0::/10", "3fff::/20")
]
# NAT64's well-known prefix (RFC 6052) carries an IPv4 address in its last 32 bits; a translator
# forwards to that address.
NAT64_PREFIXES = [ipaddress.ip_network("64:ff9b::/96")]
# The local-use NAT64 prefix (RFC 8215) may embed the IPv4 address in any RFC 6052 layout (/32
# to /96), so no one reading decodes it safely, and its translator belongs to a private network:
# it is refused outright, unless allowed.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


# How whoever runs the platform lets a check reach a private system (the message's last words;
# a page speaking to someone who cannot change settings says instead who can).
OPERATOR_ADVICE = "allow it with ASSURE_EGRESS_ALLOW if it is a system you own"


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


def embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 transition address leads to, with the mechanism's name: a
    packet to it ends up at that IPv4 host, so that host is what the policy must judge."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    for prefix in NAT64_PREFIXES:
        if address in prefix:
            return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _blocked_reason(address: IPAddress) -> str | None:
    if address in LOCAL_NAT64:
        return "local-use NAT64, a translator on a private network"
    embedded = embedded_ipv4(address)
    if embedded is not None:
        mechanism, inner = embedded
        reason = _blocked_reason(inner)
        if reason is not None:
            return f"{mechanism} for {inner}, which is {reason}"
        if mechanism in ("IPv4-mapped", "NAT64"):
            # The same host as the IPv4 address (a translator only rewrites the header).
            return None
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
    # DNS servers ("address" or "address:port") to resolve names with instead of the system's.
    dns_servers: tuple[str, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: tuple[str, ...], dns_servers: tuple[str, ...] = ()) -> EgressPolicy:
        return cls(tuple(ipaddress.ip_network(c, strict=False) for c in cidrs), dns_servers)

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls.from_cidrs(settings.egress_allow, settings.dns_servers)

    @classmethod
    def loopback_only(cls) -> EgressPolicy:
        return cls((ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")))

    def vet(self, address: IPAddress) -> str | None:
        """None when the address may be reached, else why not."""
        if any(address in network for network in self.allow):
            return None
        embedded = embedded_ipv4(address)
        if embedded is not None and embedded[0] == "IPv4-mapped":
            # ::ffff:a.b.c.d is a.b.c.d itself, so the allow list applies to it as written.
            return self.vet(embedded[1])
        return _blocked_reason(address)

    def vet_text(self, text: str) -> str | None:
        """vet() for an address as a string; anything not an IP address is refused."""
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return f"{text!r} is not an IP address"
        return self.vet(address)

    def resolve(self, host: str, port: int) -> Target:
        if not 1 <= port <= 65535:
            raise EgressRefused(f"port {port} is out of range")
        from checks.resolver import ResolutionFailed, resolve_addresses

        try:
            answers = resolve_addresses(host, port, self.dns_servers)
        except ResolutionFailed as exc:
            raise EgressRefused(str(exc)) from exc
        refusals = []
        for answer in answers:
            address = ipaddress.ip_address(answer.split("%", 1)[0])
            reason = self.vet(address)
            if reason is None:
                family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
                return Target(host, port, str(address), family)
            refusals.append(f"{address} is {reason}")
        raise EgressRefused(
            f"{host}:{port} refused by the egress policy ({'; '.join(refusals)}); {OPERATOR_ADVICE}"
        )


def _port(text: str, value: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise EgressRefused(f"{value!r}: the port must be a number from 1 to 65535")
    return int(text)


def split_host_port(value: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:443', '[::1]:443' or '::1' -> (host, port); anything else is refused."""
    value = value.strip()
    if not value:
        raise EgressRefused("no host given")
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise EgressRefused(f"{value!r} is not [address]:port")
        port = rest.removeprefix(":")
        return host, _port(port, value) if rest else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, _port(port, value)
    return value, default_port


@dataclass(frozen=True)
class TargetUrl:
    scheme: str
    host: str
    port: int
    url: str


def parse_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> TargetUrl:
    """Split a supplier-given URL, refusing (never raising ValueError on) a malformed one."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise EgressRefused(f"{url!r} is not a well-formed URL: {exc}") from exc
    if parts.scheme not in schemes or not host:
        raise EgressRefused(f"{url!r} is not an {'/'.join(schemes)} URL with a host")
    if any(ord(c) < 33 for c in url.strip()):
        raise EgressRefused(f"{url!r} contains spaces or control characters")
    default = {"http": 80, "https": 443}.get(parts.scheme, 0)
    return TargetUrl(parts.scheme, host, default if port is None else port, url.strip())
