"""Name resolution for checks: the system resolver, or DNS servers named in the settings.

A platform inside a police network usually resolves through a split-horizon DNS that knows
internal names; pointing checks at an outside resolver (ASSURE_DNS_SERVERS) means a supplier
cannot steer a check at an internal host by name at all, whatever the egress policy says.
"""

from __future__ import annotations

import ipaddress
import socket

from kernel.errors import AssureError

LOOKUP_TIMEOUT = 5.0


class ResolutionFailed(AssureError):
    pass


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _system(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"cannot resolve {host}: {exc}") from exc
    return [str(sockaddr[0]) for *_rest, sockaddr in answers]


def _configured(host: str, servers: tuple[str, ...]) -> list[str]:
    # dnspython and the settings module load only when DNS servers are configured: a check of
    # an IP address, or one resolved by the system, needs neither.
    import dns.exception
    import dns.resolver

    from kernel.settings import server_address

    resolver = dns.resolver.Resolver(configure=False)
    pairs = [server_address(s) for s in servers]
    resolver.nameservers = [address for address, _ in pairs]
    resolver.port = pairs[0][1]
    resolver.lifetime = LOOKUP_TIMEOUT
    found: list[str] = []
    for record in ("A", "AAAA"):
        try:
            found += [item.to_text() for item in resolver.resolve(host, record, search=False)]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except (dns.exception.DNSException, ValueError) as exc:
            raise ResolutionFailed(f"cannot resolve {host}: {exc}") from exc
    if not found:
        raise ResolutionFailed(f"cannot resolve {host}: no A or AAAA record")
    return found


def resolve_addresses(host: str, port: int, servers: tuple[str, ...] = ()) -> list[str]:
    """Every address `host` has, in the resolver's order; an IP literal is itself."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    return _configured(host, servers) if servers else _system(host, port)
