"""TLS: one ClientHello per key-exchange group, versions, what real clients get, certificates."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.catalogue.certificate_seen import CertificateSeen
from pq_crypto.catalogue import AlgorithmClass

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class Support(StrEnum):
    SUPPORTED = "supported"
    NOT_SUPPORTED = "not-supported"  # the server said so in TLS
    # No answer in TLS even when retried (closed, reset, refused, timed out): a connection
    # limit does this as readily as a refusal, so it is neither support nor its absence.
    INCONCLUSIVE = "inconclusive"


class TlsGroup(ResultPart):
    """One key-exchange group offered alone in a ClientHello, and what the server said."""

    name: str  # the policy's algorithm id, or the code in hex when the policy has none
    code: int  # the TLS NamedGroup code
    algorithm_class: AlgorithmClass
    obsolete: bool
    supported: bool  # the server named this very group, or a client negotiated it
    answer: str  # the probe's outcome, or which other group the server named instead
    support: Support = Support.NOT_SUPPORTED  # `supported`, or why not: refused or inconclusive

    @model_validator(mode="before")
    @classmethod
    def _support_of_older_runs(cls, data: Any) -> Any:
        # Runs stored before `support` existed knew supported or not, never inconclusive.
        if isinstance(data, dict) and "support" not in data and "supported" in data:
            support = Support.SUPPORTED if data["supported"] else Support.NOT_SUPPORTED
            return {**data, "support": support}
        return data


class TlsClientGets(ResultPart):
    """What one client of tls_clients.yaml gets: the group the server picks for its ClientHello."""

    client: str  # its id, e.g. browser, classical-first
    label: str = ""
    offered: tuple[str, ...] = ()  # its groups, most preferred first
    group: str | None = None  # the group picked: None when none was, or the answer did not say
    code: int | None = None  # its TLS NamedGroup code
    algorithm_class: AlgorithmClass | None = None
    protocol: str | None = None  # e.g. TLSv1.3
    answer: str = ""  # the probe's outcome
    inconclusive: bool = False  # no answer in TLS even when retried


class GroupPreference(StrEnum):
    """Whose order decides the group, as the two judging clients show it."""

    PQ_EVEN_WHEN_CLASSICAL_FIRST = "pq-even-when-classical-first"  # the server prefers PQ
    PQ_WHEN_OFFERED_FIRST = "pq-when-offered-first"  # the client's order: browsers get PQ
    CLASSICAL_EVEN_WHEN_PQ_FIRST = "classical-even-when-pq-first"  # browsers get classical
    INCONCLUSIVE = "inconclusive"


class SuiteClass(StrEnum):
    """A class of TLS 1.2 cipher suites, offered alone in one ClientHello (checks/tls/suites.py)."""

    RSA_KEY_TRANSPORT = "rsa-key-transport"  # TLS_RSA_WITH_*: no forward secrecy
    ECDHE = "ecdhe"
    DHE = "dhe"
    CBC = "cbc"  # non-AEAD, any key exchange, none of the weak ones
    WEAK = "weak"  # 3DES, RC4, NULL, EXPORT, anonymous


class TlsSuiteClass(ResultPart):
    """What the server said to a TLS 1.2 ClientHello offering one class of suites only."""

    suite_class: SuiteClass
    support: Support
    suite: str | None = None  # the IANA name of the suite it picked
    family: str = ""  # for a weak suite: 3DES, RC4, NULL, EXPORT or anon
    protocol: str | None = None  # the version it answered in
    answer: str = ""


class TlsHandshake(ResultPart):
    """The one full handshake, offering classical groups first: what the server picked."""

    ok: bool
    group: str | None = None
    protocol: str | None = None  # e.g. TLSv1.3
    cipher: str | None = None
    error: str = ""


class TlsResult(CheckResult):
    """What the probes and the handshake saw; only `address` when nothing answered in TLS."""

    address: str = ""
    groups: tuple[TlsGroup, ...] = ()
    # TLSv1.0 ... TLSv1.3: accepted, refused, or None when inconclusive
    versions: dict[str, bool | None] = Field(default_factory=dict)
    handshake: TlsHandshake | None = None  # None: no probe got a TLS answer, so none was tried
    certificates: tuple[CertificateSeen, ...] = ()  # the chain the handshake got, leaf first
    clients: tuple[TlsClientGets, ...] = ()  # what each client of tls_clients.yaml gets
    preference: GroupPreference | None = None  # None: no TLS answer, or a run before it existed
    tls12_suites: tuple[TlsSuiteClass, ...] = ()  # one per class; () in runs before they existed
    # ECDHE or DHE accepted in TLS 1.2; None when neither was and one answer was inconclusive
    forward_secrecy_tls12: bool | None = None
    # The TLS 1.3 suite the server picked is AEAD, as every TLS 1.3 suite is; None: no TLS 1.3
    tls13_suites_aead: bool | None = None


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.tls.check import run_tls_check

    return run_tls_check(order.check.target, policy, timeout=order.check.timeout)


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    from checks.tls.cbom import tls_components

    return tls_components(report.target, TlsResult.model_validate(report.details))


SPEC = CheckSpec(
    kind=CheckKind.TLS,
    label="TLS endpoint (host:port)",
    summary=(
        "Key exchange groups (one per ClientHello), versions, TLS 1.2 cipher suite classes, what "
        "clients get, certificates."
    ),
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=TlsResult,
)
