"""The address a sign-in is throttled by: the TCP peer, or what a trusted proxy says it saw."""

from __future__ import annotations

import pytest

from kernel.errors import ConfigError
from kernel.settings import load_settings
from posture.identity.client_address import client_address

PROXY = ("10.0.0.0/8",)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", None, (), "198.51.100.7"),
        # A client's own header is not believed when it is not behind a trusted proxy.
        ("198.51.100.7", "203.0.113.9", (), "198.51.100.7"),
        ("10.0.0.5", "203.0.113.9", PROXY, "203.0.113.9"),
        # The nearest untrusted hop wins; what the client wrote further left is ignored.
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", PROXY, "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.9", PROXY, "203.0.113.9"),
        ("10.0.0.5", "not an address", PROXY, "10.0.0.5"),
        ("10.0.0.5", None, PROXY, "10.0.0.5"),
        # Streamlit reports loopback as None; a local proxy is trusted through 127.0.0.0/8.
        (None, "203.0.113.9", ("127.0.0.0/8",), "203.0.113.9"),
        (None, "203.0.113.9", (), None),
        (None, None, (), None),
        ("2001:db8::1", None, (), "2001:db8::/64"),
        ("2001:db8::1:2:3:4", None, (), "2001:db8::/64"),
        ("::ffff:10.0.0.5", "203.0.113.9", PROXY, "203.0.113.9"),
        ("::ffff:198.51.100.7", None, (), "198.51.100.7"),
        ("garbage", None, (), None),
    ],
)
def test_the_throttled_address(
    peer: str | None, forwarded: str | None, trusted: tuple[str, ...], expected: str | None
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_trusted_proxies_come_from_the_environment_and_must_be_networks() -> None:
    settings = load_settings({"ASSURE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1/32"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.1/32")
    with pytest.raises(ConfigError, match="CIDR"):
        load_settings({"ASSURE_TRUSTED_PROXIES": "proxy.example"})
