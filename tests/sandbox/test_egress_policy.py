"""The egress policy judges the host a packet really reaches: IPv6 transition addresses are
decoded to the IPv4 address they carry, and a malformed target is a refusal, never a crash."""

from __future__ import annotations

import ipaddress

import pytest

from checks.egress import EgressPolicy, EgressRefused, parse_url, split_host_port
from checks.fetch import FetchError, fetch

STRICT = EgressPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::1", "6to4 for 127.0.0.1, which is loopback"),
        ("2002:a9fe:a9fe::1", "6to4 for 169.254.169.254, which is link-local"),
        ("2002:0a00:0001::", "6to4 for 10.0.0.1, which is private"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo for 127.0.0.1, which is loopback"),
        ("64:ff9b::7f00:1", "NAT64 for 127.0.0.1, which is loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 for 169.254.169.254, which is link-local"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        # The /48 layout of RFC 6052 puts the IPv4 address in bits 48-63 and 72-87: this one
        # carries 10.0.0.1 (its last 32 bits look public), the next 127.0.0.1, then metadata.
        ("64:ff9b:1:a00:0:100:808:808", "local-use NAT64"),
        ("64:ff9b:1:7f00:0:100:808:808", "local-use NAT64"),
        ("64:ff9b:1:a9fe:a9:fe00:808:808", "local-use NAT64"),
        ("::ffff:169.254.169.254", "link-local"),
        ("192.88.99.1", "shared or special-purpose"),
        ("fec0::1", "shared or special-purpose"),
    ],
)
def test_an_embedded_forbidden_address_is_refused_with_its_mechanism(
    address: str, reason: str
) -> None:
    verdict = STRICT.vet(ipaddress.ip_address(address))
    assert verdict is not None
    assert verdict.startswith(reason)


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "::ffff:8.8.8.8"])
def test_a_transition_address_for_a_public_host_is_judged_by_that_host(address: str) -> None:
    assert STRICT.vet(ipaddress.ip_address(address)) is None


def test_the_allow_list_applies_to_an_ipv4_mapped_address_as_written() -> None:
    policy = EgressPolicy.from_cidrs(("127.0.0.2/32",))
    assert policy.vet(ipaddress.ip_address("::ffff:127.0.0.2")) is None
    assert policy.vet(ipaddress.ip_address("::ffff:127.0.0.1")) is not None
    # A 6to4 address is a relay's route, not the host itself: the allowance does not carry.
    assert policy.vet(ipaddress.ip_address("2002:7f00:2::1")) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://h:1:2/",
        "http://h:99999/",
        "http://h:0/",
        "http://[::1/",
        "ftp://example.org/",
        "http:///path",
        "http://exa mple.org/",
    ],
)
def test_a_malformed_url_is_a_refusal_with_a_reason(url: str) -> None:
    with pytest.raises(EgressRefused):
        _resolve(url)


def _resolve(url: str) -> None:
    target = parse_url(url)
    STRICT.resolve(target.host, target.port)


def test_fetching_a_malformed_url_is_a_fetch_error_not_a_crash() -> None:
    with pytest.raises(FetchError, match="not a well-formed URL"):
        fetch("http://h:1:2/", STRICT)


@pytest.mark.parametrize("value", ["[::1]:x", "[::1", "host:", "host:0", "host:70000", " "])
def test_a_malformed_host_and_port_is_refused(value: str) -> None:
    with pytest.raises(EgressRefused):
        split_host_port(value, 443)
