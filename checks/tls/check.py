"""The TLS check: plan probes -> run them -> combine answers into findings and a readiness score.

Planning and combining are pure; only `run_tls_check` touches the network.
"""

from __future__ import annotations

from datetime import UTC, datetime

from checks.catalogue.tls import TlsGroup, TlsHandshake, TlsResult
from checks.certificates import CertificateFacts, certificate_facts, certificate_findings
from checks.egress import EgressPolicy, Target, split_host_port
from checks.findings import CheckFinding, finding
from checks.readiness import assemble, key_exchange_score, signature_score
from checks.report import CheckReport
from checks.tls.handshake import HandshakeResult, full_handshake
from checks.tls.probes import DEFAULT_TIMEOUT, GroupProbe, Probe, VersionProbe, run_probes
from checks.tls.wire import TLS_VERSIONS, Outcome, ServerAnswer
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

ERROR_FINDINGS = {
    Outcome.UNREACHABLE: "NET-001",
    Outcome.GARBAGE: "TLS-PROTO-001",
    Outcome.CLOSED: "TLS-PROTO-002",
    Outcome.TIMEOUT: "TLS-PROTO-003",
    Outcome.OVERSIZED: "TLS-PROTO-004",
}


def plan() -> list[Probe]:
    groups: list[Probe] = [GroupProbe(code) for code in sorted(algorithm_index().tls_groups())]
    versions: list[Probe] = [VersionProbe(v) for v in sorted(TLS_VERSIONS, reverse=True)]
    return groups + versions


def group_verdicts(answers: dict[Probe, ServerAnswer]) -> list[TlsGroup]:
    index = algorithm_index()
    verdicts = []
    for probe, answer in answers.items():
        if not isinstance(probe, GroupProbe):
            continue
        named = answer.outcome in (Outcome.HELLO_RETRY, Outcome.SERVER_HELLO)
        # Only an answer naming the very group offered counts as support.
        supported = named and answer.selected_group == probe.group
        classification = index.tls_group(probe.group)
        verdicts.append(
            TlsGroup(
                name=classification.algorithm_id or f"0x{probe.group:04X}",
                code=probe.group,
                algorithm_class=classification.algorithm_class,
                obsolete=classification.obsolete,
                supported=supported,
                answer=answer.outcome.value
                if not named or supported
                else f"named 0x{(answer.selected_group or 0):04X} instead",
            )
        )
    return verdicts


def version_support(answers: dict[Probe, ServerAnswer]) -> dict[str, bool]:
    support = {}
    for probe, answer in answers.items():
        if isinstance(probe, VersionProbe):
            accepted = answer.outcome in (Outcome.SERVER_HELLO, Outcome.HELLO_RETRY) and (
                answer.version == probe.version
            )
            support[TLS_VERSIONS[probe.version]] = accepted
    return support


def protocol_failure(answers: dict[Probe, ServerAnswer]) -> CheckFinding | None:
    """When no probe got a TLS answer at all, say why once, instead of drawing conclusions."""
    outcomes = [a.outcome for a in answers.values()]
    if any(o in (Outcome.HELLO_RETRY, Outcome.SERVER_HELLO, Outcome.ALERT) for o in outcomes):
        return None
    most_common = max(set(outcomes), key=outcomes.count)
    detail = next(a.detail for a in answers.values() if a.outcome == most_common)
    return finding(ERROR_FINDINGS[most_common], probes=len(outcomes), detail=detail)


def combine(
    target: Target, answers: dict[Probe, ServerAnswer], handshake: HandshakeResult, now: datetime
) -> tuple[list[CheckFinding], dict[str, float | None], TlsResult]:
    failure = protocol_failure(answers)
    if failure is not None:
        return [failure], {}, TlsResult(address=target.address)
    verdicts = group_verdicts(answers)
    resistant = [
        v
        for v in verdicts
        if v.supported
        and v.algorithm_class in (AlgorithmClass.HYBRID, AlgorithmClass.QUANTUM_SAFE)
        and not v.obsolete
    ]
    obsolete = [v for v in verdicts if v.supported and v.obsolete]
    negotiated = algorithm_index().name(handshake.group) if handshake.group else None
    preferred = bool(negotiated and negotiated.quantum_resistant and not negotiated.obsolete)
    findings: list[CheckFinding] = []
    if resistant:
        findings.append(
            finding("PQC-TLS-004", groups=[v.name for v in resistant], negotiated=handshake.group)
        )
        if not preferred:
            findings.append(
                finding(
                    "PQC-TLS-002", groups=[v.name for v in resistant], negotiated=handshake.group
                )
            )
    elif obsolete:
        findings.append(finding("PQC-TLS-003", groups=[v.name for v in obsolete]))
    else:
        findings.append(
            finding("PQC-TLS-001", groups_supported=[v.name for v in verdicts if v.supported])
        )
    versions = version_support(answers)
    legacy = [name for name in ("TLSv1.0", "TLSv1.1") if versions.get(name)]
    if legacy:
        findings.append(finding("TLS-VER-001", versions=legacy))
    if not versions.get("TLSv1.3"):
        findings.append(finding("TLS-VER-002", versions=[v for v, ok in versions.items() if ok]))
    facts: list[CertificateFacts] = [certificate_facts(c) for c in handshake.chain]
    if facts:
        findings.extend(certificate_findings(facts[0], now))
    subscores: dict[str, float | None] = {
        "key_exchange": key_exchange_score(bool(resistant), preferred, bool(obsolete)),
        "signatures_and_certificates": signature_score(
            [facts[0].key_class, facts[0].signature_class]
        )
        if facts
        else None,
    }
    if facts and facts[0].not_after <= now:
        subscores["signatures_and_certificates"] = 0.0
    result = TlsResult(
        address=target.address,
        groups=tuple(verdicts),
        versions=versions,
        handshake=TlsHandshake(
            ok=handshake.ok,
            group=handshake.group,
            protocol=handshake.protocol,
            cipher=handshake.cipher,
            error=handshake.error,
        ),
        certificates=tuple(f.seen() for f in facts),
    )
    return findings, subscores, result


def run_tls_check(
    target_text: str,
    policy: EgressPolicy,
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
) -> CheckReport:
    started = datetime.now(UTC)
    host, port = split_host_port(target_text, 443)
    target = policy.resolve(host, port)
    answers = run_probes(plan(), target, timeout=timeout)
    server_name = None if host == target.address else host
    handshake = (
        full_handshake(target, server_name, timeout)
        if protocol_failure(answers) is None
        else HandshakeResult(False)
    )
    moment = now or datetime.now(UTC)
    findings, subscores, result = combine(target, answers, handshake, moment)
    details = result.as_details()
    return assemble("tls", target.label, started, findings, subscores, details, moment.date())
