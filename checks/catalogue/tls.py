"""TLS: one ClientHello per key-exchange group, versions, preference and the certificate chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.catalogue.certificate_seen import CertificateSeen, certificate_components
from checks.cbom_export import algorithm_component
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class TlsGroup(ResultPart):
    """One key-exchange group offered alone in a ClientHello, and what the server said."""

    name: str  # the policy's algorithm id, or the code in hex when the policy has none
    code: int  # the TLS NamedGroup code
    algorithm_class: AlgorithmClass
    obsolete: bool
    supported: bool  # the server named this very group
    answer: str  # the probe's outcome, or which other group the server named instead


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
    versions: dict[str, bool] = Field(default_factory=dict)  # TLSv1.0 ... TLSv1.3: accepted
    handshake: TlsHandshake | None = None  # None: no probe got a TLS answer, so none was tried
    certificates: tuple[CertificateSeen, ...] = ()  # the chain the handshake got, leaf first


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.tls.check import run_tls_check

    return run_tls_check(order.check.target, policy, timeout=order.check.timeout)


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    """The groups the endpoint supports, the protocol it negotiated and its certificates."""
    result = TlsResult.model_validate(report.details)
    index = algorithm_index()
    components = []
    for group in result.groups:
        if group.supported:
            classification = index.tls_group(group.code)
            usage = (
                index.get(classification.algorithm_id).usage
                if classification.algorithm_id
                else "kem"
            )
            components.append(algorithm_component(group.name, classification, usage))
    handshake = result.handshake
    if handshake is not None and handshake.protocol:
        protocol = handshake.protocol
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"protocol:{report.target}",
                "name": f"{protocol} at {report.target}",
                "cryptoProperties": {
                    "assetType": "protocol",
                    "protocolProperties": {
                        "type": "tls",
                        "version": protocol.removeprefix("TLSv"),
                        "cipherSuites": [{"name": handshake.cipher or "unknown"}],
                    },
                },
            }
        )
    return components + certificate_components(report.target, result.certificates)


SPEC = CheckSpec(
    kind=CheckKind.TLS,
    label="TLS endpoint (host:port)",
    summary="Key exchange groups (one per ClientHello), versions, preference and certificates.",
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=TlsResult,
)
