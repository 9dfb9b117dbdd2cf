"""Which address a sign-in came from, for throttling: the TCP peer, or, behind a reverse proxy
the settings trust, the nearest address in X-Forwarded-For that is not one of those proxies."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[str, ...]
) -> str | None:
    """The client's address (an IPv6 client's /64), or None for a client on this host
    (nothing to throttle: it is already inside). `peer` None means loopback, as Streamlit
    reports it."""
    trusted = [ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies]
    current = _ip(peer) if peer is not None else ipaddress.ip_address("127.0.0.1")
    if current is None:
        return None

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted)

    # Walk from the nearest hop outwards; only hops added by trusted proxies are believed, so a
    # client cannot choose its own address by sending the header itself.
    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    while is_trusted(current) and hops:
        hop = _ip(hops.pop())
        if hop is None:
            break
        current = hop
    if current.is_loopback:
        return None
    if isinstance(current, ipaddress.IPv6Address):
        # Anyone with IPv6 holds at least a /64 and could spread attempts over it, one
        # address each, so the /64 is what is throttled.
        return str(ipaddress.ip_network(f"{current}/64", strict=False))
    return str(current)
