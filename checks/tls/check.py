"""The TLS check: plan probes -> run them -> combine answers into findings and a readiness score.

Planning and combining are pure; only `run_tls_check` touches the network.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from checks.catalogue.tls import (
    GroupPreference,
    SafeguardVerdict,
    SuiteClass,
    Support,
    TlsClientGets,
    TlsGroup,
    TlsHandshake,
    TlsImplied,
    TlsResult,
    TlsSafeguard,
    TlsSuiteClass,
)
from checks.certificates import CertificateFacts, certificate_facts, certificate_findings
from checks.dh_sizes import dh_sizes
from checks.egress import EgressPolicy, Target, split_host_port
from checks.findings import CheckFinding, finding
from checks.readiness import assemble, key_exchange_score, signature_score
from checks.report import CheckReport
from checks.tls.chain import (
    certificate_cap,
    chain_findings,
    presented_chain,
    unread_finding,
)
from checks.tls.chain_store import TrustAnchors, load_trust_anchors
from checks.tls.handshake import HandshakeResult, full_handshake
from checks.tls.implied import describe, summary
from checks.tls.policy import Judge, probe_limits, tls_clients
from checks.tls.probes import (
    DEFAULT_TIMEOUT,
    ClientProbe,
    GroupProbe,
    Probe,
    SuiteProbe,
    VersionProbe,
    run_probes,
)
from checks.tls.safeguards import safeguard_findings, safeguard_verdicts, with_follow_ups
from checks.tls.suite_verdicts import forward_secrecy, suite_findings, suite_verdicts, tls13_aead
from checks.tls.suites import OFFERED
from checks.tls.verdicts import (
    browser_pq_groups_refused,
    client_results,
    group_verdicts,
    preference,
    version_support,
)
from checks.tls.wire import TLS_ANSWERS, TLS_VERSIONS, Outcome, ServerAnswer
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

ERROR_FINDINGS = {
    Outcome.UNREACHABLE: "NET-001",
    Outcome.GARBAGE: "TLS-PROTO-001",
    Outcome.VIOLATION: "TLS-PROTO-001",  # it named only what it was never offered
    Outcome.CLOSED: "TLS-PROTO-002",
    Outcome.TIMEOUT: "TLS-PROTO-003",
    Outcome.OVERSIZED: "TLS-PROTO-004",
}


def plan() -> list[Probe]:
    """The clients first: under a connection limit the first answers come soonest, and what a
    browser gets names a group, a version and the preference at once. Then each probe before
    those its answer may imply (checks/tls/implied.py), which wait for it: the TLS 1.3 probe
    for the clients' answers, the CBC suite probe (ECDHE-CBC, RSA-CBC and DHE-CBC suites) before
    the other classes, the groups the browser offers last."""
    clients: list[Probe] = [ClientProbe(client.id) for client in tls_clients()]
    # TLS 1.2 has no probe of its own: the suite probes together offer every suite its probe
    # offered, with the same groups, so they answer whether the server speaks it.
    versions: list[Probe] = [
        VersionProbe(v) for v in sorted(TLS_VERSIONS, reverse=True) if v != 0x0303
    ]
    classes = sorted(OFFERED, key=lambda suite_class: suite_class is not SuiteClass.CBC)
    suites: list[Probe] = [SuiteProbe(suite_class) for suite_class in classes]
    browser_groups = {
        code for client in tls_clients() if client.judge is Judge.PQ_FIRST for code in client.codes
    }
    groups: list[Probe] = [
        GroupProbe(code)
        for code in sorted(algorithm_index().tls_groups(), key=lambda c: (c in browser_groups, c))
    ]
    return clients + versions + suites + groups


def protocol_failure(answers: dict[Probe, ServerAnswer]) -> CheckFinding | None:
    """When no probe got a TLS answer at all, say why once, instead of drawing conclusions."""
    # A hello this scanner could not build, or one another's answer implied, was never sent:
    # it says nothing of the endpoint.
    unsent = (Outcome.NOT_BUILT, Outcome.IMPLIED)
    outcomes = [a.outcome for a in answers.values() if a.outcome not in unsent]
    if not outcomes or any(o in TLS_ANSWERS for o in outcomes):
        return None
    most_common = max(set(outcomes), key=outcomes.count)
    detail = next(a.detail for a in answers.values() if a.outcome == most_common)
    return finding(ERROR_FINDINGS[most_common], probes=len(outcomes), detail=detail)


def _resistant(verdicts: list[TlsGroup], support: Support) -> list[TlsGroup]:
    return [
        v
        for v in verdicts
        if v.support is support
        and v.algorithm_class in (AlgorithmClass.HYBRID, AlgorithmClass.QUANTUM_SAFE)
        and not v.obsolete
    ]


def _obsolete(verdicts: list[TlsGroup], support: Support) -> list[TlsGroup]:
    return [v for v in verdicts if v.support is support and v.obsolete]


def key_exchange(
    verdicts: list[TlsGroup], chosen: GroupPreference, rsa_transport: Support | None = None
) -> float:
    """The score the evidence proves. An inconclusive answer is credited nothing: a group that
    was never seen taken does not count as supported, and a TLS 1.2 fallback that could not be
    ruled out counts as there, so a peer that resets the probes it would fail cannot score
    higher than one that answers them (the inconclusive finding says what was not seen).

    A TLS 1.2 fallback to RSA key transport caps the score at "PQ supported": the ML-KEM groups
    protect only the clients that negotiate them, and every session that falls back is recorded
    under the server's RSA key, with no forward secrecy at all."""
    score = _proven_group_score(verdicts, chosen)
    if rsa_transport in (Support.SUPPORTED, Support.INCONCLUSIVE):
        return min(score, key_exchange_score(True, False, False))
    return score


def _proven_group_score(verdicts: list[TlsGroup], chosen: GroupPreference) -> float:
    sure = Support.SUPPORTED
    resistant, obsolete = bool(_resistant(verdicts, sure)), bool(_obsolete(verdicts, sure))
    return key_exchange_score(
        resistant,
        resistant and chosen is GroupPreference.PQ_EVEN_WHEN_CLASSICAL_FIRST,
        obsolete,
        follows_client=chosen is GroupPreference.PQ_WHEN_OFFERED_FIRST,
    )


def _key_exchange_findings(
    verdicts: list[TlsGroup], chosen: GroupPreference, clients: list[TlsClientGets], group: str
) -> list[CheckFinding]:
    resistant = [v.name for v in _resistant(verdicts, Support.SUPPORTED)]
    uncertain = _resistant(verdicts, Support.INCONCLUSIVE)
    gets = {result.client: result.group for result in clients}
    if resistant:
        found = [finding("PQC-TLS-004", groups=resistant, negotiated=group)]
        if browser_offers := browser_pq_groups_refused(verdicts):
            # Not a preference to change: the browser offers none of the hybrids taken.
            found.append(
                finding(
                    "PQC-TLS-006", groups=resistant, browser_offers=browser_offers, clients=gets
                )
            )
        elif chosen is GroupPreference.CLASSICAL_EVEN_WHEN_PQ_FIRST:
            found.append(finding("PQC-TLS-002", groups=resistant, negotiated=group, clients=gets))
        elif chosen is GroupPreference.PQ_WHEN_OFFERED_FIRST:
            found.append(finding("PQC-TLS-005", groups=resistant, clients=gets))
        return found
    if uncertain:
        return []  # the inconclusive finding names them; no verdict either way
    obsolete = [v.name for v in _obsolete(verdicts, Support.SUPPORTED)]
    if obsolete:
        return [finding("PQC-TLS-003", groups=obsolete)]
    return [finding("PQC-TLS-001", groups_supported=[v.name for v in verdicts if v.supported])]


def _inconclusive_finding(
    verdicts: list[TlsGroup],
    versions: dict[str, bool | None],
    clients: list[TlsClientGets],
    suites: list[TlsSuiteClass],
    safeguards: list[TlsSafeguard] | None = None,
) -> CheckFinding | None:
    groups = [v.name for v in verdicts if v.support is Support.INCONCLUSIVE]
    unknown_safeguards = [
        s.safeguard.value for s in safeguards or [] if s.verdict is SafeguardVerdict.INCONCLUSIVE
    ]
    unknown_versions = [name for name, ok in versions.items() if ok is None]
    unknown_clients = [c.client for c in clients if c.inconclusive]
    unknown_suites = [s.suite_class.value for s in suites if s.support is Support.INCONCLUSIVE]
    if not (groups or unknown_versions or unknown_clients or unknown_suites or unknown_safeguards):
        return None
    return finding(
        "TLS-PROBE-001",
        groups=groups,
        versions=unknown_versions,
        clients=unknown_clients,
        suite_classes=unknown_suites,
        safeguards=unknown_safeguards,
        retries=probe_limits().retries,
    )


def _implied(answers: dict[Probe, ServerAnswer]) -> tuple[TlsImplied, ...]:
    return tuple(
        TlsImplied(
            probe=describe(probe),
            implied_by=describe(answer.implied_by),
            answer=summary(answers[answer.implied_by]),
        )
        for probe, answer in answers.items()
        if answer.outcome is Outcome.IMPLIED
        and answer.implied_by is not None
        and answer.implied_by in answers
    )


def combine(
    target: Target,
    answers: dict[Probe, ServerAnswer],
    handshake: HandshakeResult,
    now: datetime,
    trust: TrustAnchors | None = None,
) -> tuple[list[CheckFinding], dict[str, float | None], TlsResult]:
    failure = protocol_failure(answers)
    if failure is not None:
        return [failure], {}, TlsResult(address=target.address)
    verdicts = group_verdicts(answers, handshake)
    clients = client_results(answers, handshake)
    chosen = preference(clients, handshake)
    findings = _key_exchange_findings(verdicts, chosen, clients, handshake.group or "")
    versions = version_support(answers, handshake)
    legacy = [name for name in ("TLSv1.0", "TLSv1.1") if versions.get(name)]
    if legacy:
        findings.append(finding("TLS-VER-001", versions=legacy))
    if versions.get("TLSv1.3") is False:
        findings.append(finding("TLS-VER-002", versions=[v for v, ok in versions.items() if ok]))
    suites = suite_verdicts(answers)
    pq_groups = [v.name for v in _resistant(verdicts, Support.SUPPORTED)]
    findings.extend(suite_findings(suites, pq_groups if versions.get("TLSv1.3") else []))
    safeguards = safeguard_verdicts(answers)
    findings.extend(safeguard_findings(safeguards))
    inconclusive = _inconclusive_finding(verdicts, versions, clients, suites, safeguards)
    if inconclusive is not None:
        findings.append(inconclusive)
    facts: list[CertificateFacts] = [certificate_facts(c) for c in handshake.chain]
    if facts:
        findings.extend(certificate_findings(facts[0], now))
    subscores: dict[str, float | None] = {
        "key_exchange": key_exchange(
            verdicts,
            chosen,
            next(
                (s.support for s in suites if s.suite_class is SuiteClass.RSA_KEY_TRANSPORT),
                None,
            ),
        ),
        "signatures_and_certificates": signature_score(
            [facts[0].key_class, facts[0].signature_class]
        )
        if facts
        else None,
    }
    if facts and facts[0].not_after <= now:
        subscores["signatures_and_certificates"] = 0.0
    # A DHE prime under the floor caps the key exchange as a weak SSH group does: the same
    # sizes and caps (checks/data/dh_sizes.yaml); TLS judges what the server accepts (offered).
    weak_dh = [s.dh_bits for s in safeguards if s.verdict is SafeguardVerdict.MISSING and s.dh_bits]
    dh_cap = dh_sizes().key_exchange_cap(min(weak_dh), negotiated=False) if weak_dh else None
    if dh_cap is not None and subscores["key_exchange"] is not None:
        subscores["key_exchange"] = min(subscores["key_exchange"], dh_cap)
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
        clients=tuple(clients),
        preference=chosen,
        tls12_suites=tuple(suites),
        forward_secrecy_tls12=forward_secrecy(suites),
        tls13_suites_aead=tls13_aead(answers),
        safeguards=tuple(safeguards),
        implied=_implied(answers),
    )
    # The chain: trust, name, order, stapled OCSP (checks/tls/chain.py); judged only with a
    # trust store, and an untrusted, misnamed or revoked one caps the certificate sub-score.
    chain = presented_chain(target.host, target.address, handshake, trust, now)
    if chain is not None:
        findings.extend(chain_findings(chain))
        cert_score = subscores["signatures_and_certificates"]
        subscores["signatures_and_certificates"] = certificate_cap(chain, cert_score)
        result = result.model_copy(update={"chain": chain})
    if not facts:
        # Fail closed: an unjudged certificate earns nothing. None would drop the part from
        # overall(), so a server that ends the handshake before its certificate is read (or
        # sends one that does not parse) would score above one whose bad chain was judged.
        subscores["signatures_and_certificates"] = 0.0
        if chain is None:
            reason = handshake.error or "no certificate was read"
            unread = handshake.unreadable_certificates
            findings.append(unread_finding(reason, unread, unread))
    return findings, subscores, result


def run_tls_check(
    target_text: str,
    policy: EgressPolicy,
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
    trust_store: Path | None = None,
    skip_implied: bool = True,
) -> CheckReport:
    """`trust_store`: the PEM bundle chains are validated against; None: the default bundle
    (checks/tls/chain_store.py). Read before any connection, so a bad one costs no traffic.
    `skip_implied`: False sends every probe, even one another's answer has already answered
    (checks/tls/implied.py); the verdicts are the same either way."""
    started = datetime.now(UTC)
    trust = load_trust_anchors(trust_store)
    host, port = split_host_port(target_text, 443)
    target = policy.resolve(host, port)
    answers = run_probes(plan(), target, timeout=timeout, skip_implied=skip_implied)
    if protocol_failure(answers) is None:
        # Asked after the main probes, which tell what they can ask about (a second, short run).
        follow_up = probe_limits().for_follow_ups(timeout)
        answers = with_follow_ups(
            answers, lambda more: run_probes(more, target, timeout=timeout, limits=follow_up)
        )
    server_name = None if host == target.address else host
    limits = probe_limits()
    handshake = (
        full_handshake(target, server_name, timeout, limits.retries, limits.retry_delay_ms / 1000)
        if protocol_failure(answers) is None
        else HandshakeResult(False)
    )
    moment = now or datetime.now(UTC)
    findings, subscores, result = combine(target, answers, handshake, moment, trust)
    details = result.as_details()
    return assemble("tls", target.label, started, findings, subscores, details, moment.date())
