"""Fetch a supplier-given URL through the egress policy: resolve once, connect to the vetted
address, keep the host name for the Host header, SNI and certificate checks; cap the size."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

from checks.egress import EgressPolicy, EgressRefused, parse_url

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


class FetchError(ValueError):
    pass


def fetch(
    url: str,
    policy: EgressPolicy,
    timeout: float = 10.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    verify: bool | str = True,
) -> bytes:
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
    try:
        with (
            httpx.Client(timeout=timeout, verify=verify, follow_redirects=False) as client,
            client.stream(
                "GET",
                pinned,
                headers={"Host": parts.netloc.rsplit("@")[-1]},
                extensions={"sni_hostname": parsed.host},
            ) as response,
        ):
            if response.status_code != 200:
                raise FetchError(f"{url} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchError(f"{url} sent more than {max_bytes} bytes")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot fetch {url}: {exc}") from exc


__all__ = ["EgressRefused", "FetchError", "fetch"]
