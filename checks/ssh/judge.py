"""The SSH check's pure combine step: from the server's KEXINIT and the host keys read to findings,
sub-scores and the typed result."""

from __future__ import annotations

from collections.abc import Sequence

from checks.catalogue.ssh import (
    SshAlgorithm,
    SshClientKex,
    SshHostKey,
    SshHostKeyUnread,
    SshResult,
    TerrapinExposure,
)
from checks.findings import CheckFinding, finding
from checks.readiness import key_exchange_score, signature_score
from checks.ssh.clients import client_outcomes, left_classical
from checks.ssh.hostkeys import key_classification
from checks.ssh.policy import SshPolicy, matches, ssh_policy
from checks.ssh.transport import KexInit
from pq_crypto.catalogue import AlgorithmClass, algorithm_index


def _both_directions(lists: dict[str, list[str]], kind: str) -> list[str]:
    names = lists.get(f"{kind}_server_to_client", []) + lists.get(f"{kind}_client_to_server", [])
    return list(dict.fromkeys(names))


def _terrapin(
    policy: SshPolicy, strict: bool, ciphers: list[str], macs: list[str]
) -> tuple[TerrapinExposure, list[str]]:
    exposed = [c for c in ciphers if matches(c, policy.terrapin_ciphers)]
    exposed += [m for m in macs if matches(m, policy.terrapin_macs)]
    if strict:
        return TerrapinExposure.MITIGATED, exposed
    return (TerrapinExposure.VULNERABLE if exposed else TerrapinExposure.NOT_EXPOSED), exposed


def _host_key_findings(keys: Sequence[SshHostKey]) -> list[CheckFinding]:
    findings = []
    weak, short = [], []
    for key in keys:
        classification = key_classification(key.key_type, key.key_bits)
        described = {"algorithm": key.algorithm, "key": key.key_type, "bits": key.key_bits}
        if classification.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN:
            weak.append(described)
        elif (classification.classical_bits or 128) < 128:
            short.append(described)
    if weak:
        findings.append(finding("SSH-007", host_keys=weak))
    if short:
        findings.append(finding("SSH-008", host_keys=short))
    return findings


def _key_exchange_findings(
    kex: list[str], clients: Sequence[SshClientKex]
) -> tuple[list[CheckFinding], bool]:
    """SSH-001/002/006 from what the clients would negotiate, and whether every judged client
    gets a post-quantum key exchange."""
    index = algorithm_index()
    pq = [name for name in kex if index.ssh(name).quantum_resistant]
    if not pq:
        return [finding("SSH-001", kex_algorithms=kex)], False
    classical = left_classical(clients)
    negotiated = {c.label: c.kex or "no key exchange in common" for c in clients}
    if classical:
        left = {c.label: c.kex or "no key exchange in common" for c in classical}
        return [finding("SSH-002", post_quantum=pq, left_classical=left, clients=negotiated)], False
    return [finding("SSH-006", post_quantum=pq, clients=negotiated)], True


def combine(
    kexinit: KexInit,
    address: str = "",
    host_keys: Sequence[SshHostKey | SshHostKeyUnread] = (),
) -> tuple[list[CheckFinding], dict[str, float | None], SshResult]:
    policy, index = ssh_policy(), algorithm_index()
    offered_kex = kexinit.lists["kex_algorithms"]
    kex = [name for name in offered_kex if not policy.is_pseudo_kex(name)]
    host_key_algorithms = kexinit.lists["server_host_key_algorithms"]
    classified = {name: index.ssh(name) for name in kex + host_key_algorithms}
    clients = client_outcomes(kex)
    findings, pq_for_all = _key_exchange_findings(kex, clients)
    broken_kex = [
        n for n in kex if classified[n].algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken_kex:
        findings.append(finding("SSH-003", algorithms=broken_kex))
    broken_keys = [
        n
        for n in host_key_algorithms
        if classified[n].algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken_keys:
        findings.append(finding("SSH-004", algorithms=broken_keys))
    read = [key for key in host_keys if isinstance(key, SshHostKey)]
    unread = [key for key in host_keys if isinstance(key, SshHostKeyUnread)]
    findings += _host_key_findings(read)
    strict = policy.strict_kex in offered_kex
    ciphers = _both_directions(kexinit.lists, "encryption")
    macs = _both_directions(kexinit.lists, "mac")
    terrapin, exposed = _terrapin(policy, strict, ciphers, macs)
    if terrapin is TerrapinExposure.VULNERABLE:
        findings.append(finding("SSH-009", modes=exposed))
    weak_ciphers = [c for c in ciphers if matches(c, policy.weak_ciphers)]
    if weak_ciphers:
        findings.append(finding("SSH-010", ciphers=weak_ciphers))
    weak_macs = [m for m in macs if matches(m, policy.weak_macs)]
    if weak_macs:
        findings.append(finding("SSH-011", macs=weak_macs))
    failed = {key.algorithm: key.reason for key in unread if key.attempted}
    if failed:
        findings.append(finding("SSH-012", host_keys=failed))
    # The weakest signature decides: the algorithms offered by name (ssh-rsa is SHA-1 whatever
    # the key) and each key read by its size (an RSA-1024 key under rsa-sha2-512).
    signatures = [
        classified[n]
        for n in host_key_algorithms
        if classified[n].algorithm_class is not AlgorithmClass.UNKNOWN
    ] + [key_classification(key.key_type, key.key_bits) for key in read]
    pq_offered = any(classified[n].quantum_resistant for n in kex)
    subscores: dict[str, float | None] = {
        "key_exchange": key_exchange_score(pq_offered, pq_for_all, False),
        "signatures_and_certificates": signature_score(signatures) if signatures else None,
    }
    result = SshResult(
        address=address,
        banner=kexinit.banner,
        kex_algorithms=tuple(
            SshAlgorithm(name=n, algorithm_class=classified[n].algorithm_class) for n in kex
        ),
        host_key_algorithms=tuple(
            SshAlgorithm(name=n, algorithm_class=classified[n].algorithm_class)
            for n in host_key_algorithms
        ),
        encryption=tuple(kexinit.lists["encryption_server_to_client"]),
        mac=tuple(kexinit.lists["mac_server_to_client"]),
        extensions=tuple(name for name in offered_kex if policy.is_pseudo_kex(name)),
        strict_kex=strict,
        terrapin=terrapin,
        clients=clients,
        host_keys=tuple(read),
        host_keys_not_read=tuple(unread),
        weak_ciphers=tuple(weak_ciphers),
        weak_macs=tuple(weak_macs),
    )
    return findings, subscores, result
