"""Where a requested check would connect, vetted before the job is queued.

The worker enforces the egress policy when the check runs (checks/egress.py); a target it would
refuse for certain is refused here first, by the same parsers and the same policy, so the person
asking is told at the form and nothing is queued. What only DNS can tell (where a name points
today, which may change before the check runs) is still judged by the worker, which resolves the
name once and connects to the address it vetted.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from checks.catalogue import InputKind, spec_for
from checks.egress import (
    EgressPolicy,
    EgressRefused,
    IPAddress,
    parse_url,
    split_host_port,
)
from kernel.errors import ValidationFailed
from posture.check_requests import CheckRequest

# A DNS label: letters, digits and hyphens, 1 to 63 of them, neither starting nor ending with a
# hyphen (RFC 1123). A name is at most 253 characters without its final dot.
LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
MAX_NAME = 253
# RFC 6761: these names are loopback by definition, and resolvers answer them without DNS.
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
SHOWN = 60  # characters of a refused value repeated back, so a long one is not echoed whole


def _shown(value: str) -> str:
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def host_problem(host: str) -> str | None:
    """Why `host` is neither an IP address nor a host name, or None."""
    if _literal(host) is not None:
        return None
    name = host.removesuffix(".")
    if not name or len(name) > MAX_NAME:
        return f"a host name is 1 to {MAX_NAME} characters"
    try:
        # An internationalised name is checked as the ASCII name the resolver will be asked.
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return f"{_shown(host)} is not a host name or IP address"
    if not name or len(name) > MAX_NAME:
        return f"a host name is 1 to {MAX_NAME} characters"
    labels = name.split(".")
    if not all(LABEL.fullmatch(label) for label in labels):
        return f"{_shown(host)} is not a host name or IP address"
    if labels[-1].isdigit() or _read_as_address(name):
        # 2130706433, 127.1, 0x7f.1 and 0x7f000001 are read as addresses by the C library's
        # resolver: an address must be written as one, so the policy judges what the person sees.
        return f"{_shown(host)} is not a host name or IP address written in full"
    return None


def _read_as_address(name: str) -> bool:
    """Whether the C library reads `name` as an IPv4 address (inet_aton: hex, octal, short)."""
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def _addresses(host: str) -> tuple[IPAddress, ...]:
    """The addresses `host` stands for without asking DNS: itself if it is an address,
    loopback if it is a localhost name; none for any other name (the worker resolves those)."""
    literal = _literal(host)
    if literal is not None:
        return (literal,)
    name = host.removesuffix(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return LOOPBACK
    return ()


def _vet_host(field: str, host: str, policy: EgressPolicy) -> None:
    problem = host_problem(host)
    if problem is not None:
        raise ValidationFailed(f"{field}: {problem}")
    addresses = _addresses(host)
    reasons = [policy.vet(address) for address in addresses]
    # As the worker does: the check goes ahead if any address the host stands for is allowed.
    if addresses and all(reason is not None for reason in reasons):
        why = "; ".join(f"{a} is {r}" for a, r in zip(addresses, reasons, strict=True))
        # Said to a supplier, who cannot change the platform's settings (as webhooks say it).
        raise ValidationFailed(
            f"{field}: checks may not connect to {_shown(host)} ({why}); "
            "only the platform's operator can allow it"
        )


def _vet_url(field: str, url: str, policy: EgressPolicy) -> None:
    try:
        parsed = parse_url(url)
    except EgressRefused:
        raise ValidationFailed(
            f"{field}: give an http:// or https:// URL with a host, not {_shown(url)}"
        ) from None
    _vet_host(field, parsed.host, policy)


def vet_request(request: CheckRequest, policy: EgressPolicy) -> None:
    """Refuse (ValidationFailed, naming the field) a request whose target or base URL the
    check could not use or the egress policy forbids; return quietly otherwise."""
    spec = spec_for(request.kind)
    if spec.input is InputKind.ENDPOINT:
        if "/" in request.target:
            raise ValidationFailed("target: give host:port, not a URL or a path")
        try:
            # The port is only checked here: a bare host takes the check's own default port.
            host, _ = split_host_port(request.target, 443)
        except EgressRefused as exc:
            raise ValidationFailed(f"target: {exc}; give host:port") from None
        _vet_host("target", host, policy)
    elif spec.input is InputKind.FILE_OR_URL and request.target:
        _vet_url("target", request.target, policy)
    elif spec.input is InputKind.FILE and request.target:
        raise ValidationFailed(f"target: a {spec.kind} check reads a file; give no target")
    if request.base_url:
        if not spec.live:
            raise ValidationFailed(f"base URL: a {spec.kind} check tests no live service")
        _vet_url("base URL", request.base_url, policy)
