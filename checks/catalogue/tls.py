"""TLS: one ClientHello per key-exchange group, versions, what real clients get, certificates."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, computed_field, model_validator

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.catalogue.certificate_seen import CertificateSeen
from checks.catalogue.tls_chain import TlsChain
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
    answer: str  # the probe's outcome, or which other group the server named instead
    support: Support = Support.NOT_SUPPORTED  # supported, or why not: refused or inconclusive

    @model_validator(mode="before")
    @classmethod
    def _support_of_older_runs(cls, data: Any) -> Any:
        # Runs stored before `support` existed knew supported or not, never inconclusive. One
        # holding both must agree: `supported` is derived, so a payload claiming support the
        # verdict does not give is refused rather than half believed.
        if not isinstance(data, dict) or "supported" not in data:
            return data
        if "support" not in data:
            support = Support.SUPPORTED if data["supported"] else Support.NOT_SUPPORTED
            return {**data, "support": support}
        if bool(data["supported"]) != (Support(data["support"]) is Support.SUPPORTED):
            raise ValueError(f"supported={data['supported']} contradicts support={data['support']}")
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def supported(self) -> bool:
        """The server named this very group, or a client negotiated it."""
        return self.support is Support.SUPPORTED


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
    # It named a group, but one its hello did not offer or one the full handshake contradicts:
    # recorded in `answer` (and `inconclusive`), never credited (checks/tls/verdicts.py). Only
    # the preference verdict reads it, when the check runs, so it is not written out.
    doubted: bool = Field(default=False, exclude=True)


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


class Safeguard(StrEnum):
    """A protocol safeguard asked with one raw ClientHello (checks/tls/safeguards.py)."""

    SECURE_RENEGOTIATION = "secure-renegotiation"  # RFC 5746 renegotiation_info
    FALLBACK_SCSV = "fallback-scsv"  # RFC 7507 downgrade protection
    NO_COMPRESSION = "no-compression"  # TLS compression refused (CRIME)
    DH_PARAMETERS = "dh-parameters"  # the DHE prime is at least 2048 bits (Logjam)


class SafeguardVerdict(StrEnum):
    IN_PLACE = "in-place"  # the server's answer shows it
    MISSING = "missing"  # the server's answer shows it is not: a finding
    NOT_APPLICABLE = "not-applicable"  # e.g. no TLS 1.2, one version only, no DHE suite
    INCONCLUSIVE = "inconclusive"  # no answer that tells, even when retried


class TlsSafeguard(ResultPart):
    """What the server said to the ClientHello asking about one safeguard."""

    safeguard: Safeguard
    verdict: SafeguardVerdict
    protocol: str | None = None  # the version it was asked in
    answer: str = ""  # what the server said, or why the question does not apply
    dh_bits: int | None = None  # DH parameters only: the smallest prime seen


class TlsHandshake(ResultPart):
    """The one full handshake, offering classical groups first: what the server picked."""

    ok: bool
    group: str | None = None
    protocol: str | None = None  # e.g. TLSv1.3
    cipher: str | None = None
    error: str = ""


class TlsImplied(ResultPart):
    """A probe not sent: another probe's answer already answered its question yes (an answer in
    TLS 1.3 proves TLS 1.3, a group a browser was given is supported; checks/tls/implied.py).
    Its verdict is that answer's, and says so."""

    probe: str  # e.g. "the TLSv1.3 probe"
    implied_by: str  # e.g. "the browser client's hello"
    answer: str  # what that probe got, e.g. "server_hello TLSv1.3 X25519MLKEM768"


class TlsResult(CheckResult):
    """What the probes and the handshake saw; only `address` when nothing answered in TLS."""

    address: str = ""
    groups: tuple[TlsGroup, ...] = ()
    # TLSv1.0 ... TLSv1.3: accepted, refused, or None when inconclusive
    versions: dict[str, bool | None] = Field(default_factory=dict)
    handshake: TlsHandshake | None = None  # None: no probe got a TLS answer, so none was tried
    certificates: tuple[CertificateSeen, ...] = ()  # the chain the handshake got, leaf first
    # Trust, name, order and stapled OCSP of that chain; None: no chain seen, or an older run
    chain: TlsChain | None = None
    clients: tuple[TlsClientGets, ...] = ()  # what each client of tls_clients.yaml gets
    preference: GroupPreference | None = None  # None: no TLS answer, or a run before it existed
    tls12_suites: tuple[TlsSuiteClass, ...] = ()  # one per class; () in runs before they existed
    # ECDHE or DHE accepted in TLS 1.2; None when neither was and one answer was inconclusive
    forward_secrecy_tls12: bool | None = None
    # The TLS 1.3 suite the server picked is AEAD, as every TLS 1.3 suite is; None: no TLS 1.3
    tls13_suites_aead: bool | None = None
    safeguards: tuple[TlsSafeguard, ...] = ()  # one per Safeguard; () in runs before they existed
    implied: tuple[TlsImplied, ...] = ()  # probes not sent, and what implied their answer


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.tls.check import run_tls_check

    # The parent resolved the operator's trust store setting (checks/sandbox/run.py); the child
    # reads the bundle itself, which is the operator's file, not the supplier's.
    trust_store = Path(order.tls_trust_store) if order.tls_trust_store else None
    return run_tls_check(
        order.check.target, policy, timeout=order.check.timeout, trust_store=trust_store
    )


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    from checks.tls.cbom import tls_components

    return tls_components(report.target, TlsResult.model_validate(report.details))


SPEC = CheckSpec(
    kind=CheckKind.TLS,
    label="TLS endpoint (host:port)",
    summary=(
        "Key exchange groups (one per ClientHello), versions, TLS 1.2 cipher suite classes, "
        "protocol safeguards (secure renegotiation, fallback SCSV, compression, DH size), what "
        "clients get, certificates."
    ),
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=TlsResult,
)
