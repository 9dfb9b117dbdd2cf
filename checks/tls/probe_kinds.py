"""The questions a TLS probe asks, one ClientHello each (checks/tls/probes.py builds and sends
them): a key-exchange group alone, a version, a real client's hello, a class of TLS 1.2 suites,
DHE, a protocol safeguard."""

from __future__ import annotations

from dataclasses import dataclass

from checks.catalogue.tls import Safeguard, SuiteClass
from checks.tls.suites import OFFERED
from checks.tls.wire import LEGACY_SUITES, TLS12_SUITES


@dataclass(frozen=True)
class GroupProbe:
    group: int


@dataclass(frozen=True)
class VersionProbe:
    version: int


@dataclass(frozen=True)
class ClientProbe:
    """The ClientHello a client of tls_clients.yaml sends: which group does the server pick?"""

    client: str


@dataclass(frozen=True)
class SuiteProbe:
    """A TLS 1.2 ClientHello offering one class of cipher suites only (checks/tls/suites.py)."""

    suite_class: SuiteClass


@dataclass(frozen=True)
class DhProbe:
    """A TLS 1.2 ClientHello offering DHE suites only, read on to the ServerKeyExchange for the
    prime's size. `ffdhe`: with the RFC 7919 groups among the supported groups, as the suite
    probes offer them; without, as most clients send it. The two get different answers: such a
    server negotiates one of its FFDHE groups with a client that lists them, refuses DHE if it
    has none of them, and uses its own configured prime with a client that lists none."""

    ffdhe: bool


@dataclass(frozen=True)
class SafeguardProbe:
    """A TLS 1.2-or-lower ClientHello asking about one safeguard (checks/tls/safeguards.py):
    `version`, the one `suite` and the groups of a hello the server already accepted, so the
    answer is about the safeguard and nothing else."""

    safeguard: Safeguard
    version: int
    suite: int
    ffdhe: bool = True


Probe = GroupProbe | VersionProbe | ClientProbe | SuiteProbe | DhProbe | SafeguardProbe


def tls12_suites_of(probe: Probe) -> tuple[int, ...]:
    """The TLS 1.2-or-lower suites a probe's hello offers, in its order; () for a hello whose
    suites are the TLS 1.3 ones or a client's own (OpenSSL chooses those)."""
    if isinstance(probe, SuiteProbe):
        return OFFERED[probe.suite_class]
    if isinstance(probe, DhProbe):
        return OFFERED[SuiteClass.DHE]
    if isinstance(probe, VersionProbe) and probe.version < 0x0304:
        return TLS12_SUITES + LEGACY_SUITES if probe.version == 0x0303 else LEGACY_SUITES
    return ()
