"""The SSH check's pure combine step: from the server's KEXINIT, the host keys and certificates
read and the group sizes probed to findings, sub-scores (capped as ssh_policy.yaml says, and for
Diffie-Hellman groups as dh_sizes.yaml says, the same data the TLS check judges by) and the typed
result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from checks.catalogue.ssh import (
    SshAlgorithm,
    SshClientKex,
    SshDhGroup,
    SshHostCertificate,
    SshHostKey,
    SshHostKeyUnread,
    SshResult,
    TerrapinExposure,
)
from checks.dh_sizes import dh_sizes
from checks.findings import CheckFinding, finding
from checks.readiness import key_exchange_score, signature_score
from checks.ssh.clients import client_outcomes, left_classical
from checks.ssh.host_key_verdicts import judge_host_keys
from checks.ssh.policy import SshPolicy, matches, ssh_policy
from checks.ssh.transport import KexInit
from pq_crypto.catalogue import AlgorithmClass, algorithm_index


def _both_directions(lists: dict[str, list[str]], kind: str) -> list[str]:
    names = lists.get(f"{kind}_server_to_client", []) + lists.get(f"{kind}_client_to_server", [])
    return list(dict.fromkeys(names))


def _terrapin(
    policy: SshPolicy, strict: bool, lists: dict[str, list[str]]
) -> tuple[TerrapinExposure, list[str]]:
    """The exploitable combinations offered, each direction on its own (a cipher and a MAC are
    negotiated per direction), and what they mean with or without strict key exchange."""
    exposed = []
    for direction in ("client_to_server", "server_to_client"):
        ciphers = lists.get(f"encryption_{direction}", [])
        exposed += policy.terrapin_exposed(ciphers, lists.get(f"mac_{direction}", []))
    exposed = list(dict.fromkeys(exposed))
    if strict:
        return TerrapinExposure.MITIGATED, exposed
    return (TerrapinExposure.VULNERABLE if exposed else TerrapinExposure.NOT_EXPOSED), exposed


def _dh_groups(policy: SshPolicy, kex: list[str], probed: Sequence[SshDhGroup]) -> list[SshDhGroup]:
    """Every DH key exchange offered with its group size: fixed groups by name, group exchanges
    as probed (or without a size, with the reason, when the probe could not read it)."""
    fixed = [
        SshDhGroup(kex=name, bits=policy.dh_fixed_groups[name])
        for name in kex
        if name in policy.dh_fixed_groups
    ]
    by_name = {group.kex: group for group in probed}
    exchanges = [
        by_name.get(name) or SshDhGroup(kex=name, source="group exchange", reason="not probed")
        for name in kex
        if name in policy.dh_group_exchange
    ]
    return fixed + exchanges


# The SSH finding for each band of checks/data/dh_sizes.yaml, which names the same codes (a test
# holds them together; findings are raised by literal code so the catalogue test can trace them).
DH_FINDINGS = {"broken": "SSH-019", "weak": "SSH-013"}


def _dh_findings(
    groups: Sequence[SshDhGroup], clients: Sequence[SshClientKex]
) -> tuple[list[CheckFinding], list[float]]:
    """Per band of checks/data/dh_sizes.yaml (shared with TLS), its finding for the groups in it
    (SSH-019 under 1024 bits, SSH-013 under 2048) and its key exchange cap, heavier when a real
    client (judged or not) would negotiate one of them. A group exchange whose group was not read
    (SSH-018) or broke RFC 4419 (SSH-020) is capped as the floor's band offered until a group is
    proven: a server that stalls the request, or hands out a 100 000-bit "group", earns nothing
    for it."""
    sizes = dh_sizes()
    findings: list[CheckFinding] = []
    caps: list[float] = []
    for band in sizes.bands:
        weak = {g.kex: g.bits for g in groups if g.bits and sizes.band(g.bits) is band}
        if weak:
            taken = {c.label: c.kex for c in clients if c.kex in weak}
            findings.append(finding(DH_FINDINGS[band.name], groups=weak, clients_negotiating=taken))
            cap = band.key_exchange_cap
            caps.append(cap.negotiated if taken else cap.offered)
    unread = {g.kex: g.reason or "no size" for g in groups if g.bits is None and not g.violation}
    if unread:
        findings.append(finding("SSH-018", groups=unread))
    refused = {g.kex: {"bits": g.bits, "violation": g.violation} for g in groups if g.violation}
    if refused:
        findings.append(finding("SSH-020", groups=refused))
    if unread or refused:
        caps.append(sizes.key_exchange_cap(None, negotiated=False) or 0.0)
    return findings, caps


def _capped(
    policy: SshPolicy,
    subscores: dict[str, float | None],
    caps: Sequence[str],
    key_exchange_caps: Sequence[float],
) -> dict[str, float | None]:
    capped = dict(subscores)
    limits = [
        (part, most)
        for name in caps
        for part, most in policy.subscore_caps[name].items()  # type: ignore[index]
    ]
    limits += [("key_exchange", most) for most in key_exchange_caps]
    for part, most in limits:
        value = capped.get(part)
        if value is not None:
            capped[part] = min(value, most)
    return capped


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
    host_keys: Sequence[SshHostKey | SshHostKeyUnread | SshHostCertificate] = (),
    dh_groups: Sequence[SshDhGroup] = (),
    now: datetime | None = None,
    host: str = "",
) -> tuple[list[CheckFinding], dict[str, float | None], SshResult]:
    """`host`: the name the check was pointed at (host certificates must name it); the address
    when not given."""
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
    groups = _dh_groups(policy, kex, dh_groups)
    dh_findings, dh_caps = _dh_findings(groups, clients)
    findings += dh_findings
    caps: list[str] = []
    keys = judge_host_keys(
        [key for key in host_keys if isinstance(key, SshHostKey)],
        [key for key in host_keys if isinstance(key, SshHostCertificate)],
        now or datetime.now(UTC),
        host or address,
    )
    unread = [key for key in host_keys if isinstance(key, SshHostKeyUnread)]
    findings += keys.findings
    caps += keys.caps
    strict = policy.strict_kex in offered_kex
    ciphers = _both_directions(kexinit.lists, "encryption")
    macs = _both_directions(kexinit.lists, "mac")
    terrapin, exposed = _terrapin(policy, strict, kexinit.lists)
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
    # the key), and each key a signature proved by its size (an RSA-1024 key under rsa-sha2-512),
    # the CA keys of accepted host certificates included. A name that gives no size (the RSA
    # names) stands for its key until a key of that type is proven, and then the key speaks.
    proven = {c.algorithm_id for c in keys.classifications}
    signatures = [
        classified[n]
        for n in host_key_algorithms
        if classified[n].algorithm_class is not AlgorithmClass.UNKNOWN
        and not (
            classified[n].classical_bits is None
            and classified[n].algorithm_id in proven
            and classified[n].algorithm_class is not AlgorithmClass.CLASSICALLY_BROKEN
        )
    ] + keys.classifications
    pq_offered = any(classified[n].quantum_resistant for n in kex)
    subscores = _capped(
        policy,
        {
            "key_exchange": key_exchange_score(pq_offered, pq_for_all, False),
            "signatures_and_certificates": signature_score(signatures) if signatures else None,
        },
        caps,
        dh_caps,
    )
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
        terrapin_exposures=tuple(exposed),
        clients=clients,
        host_keys=tuple(keys.verified),
        host_keys_unverified=tuple(keys.unverified),
        host_keys_not_read=tuple(unread),
        host_certificates=tuple(keys.certificates),
        dh_groups=tuple(groups),
        weak_ciphers=tuple(weak_ciphers),
        weak_macs=tuple(weak_macs),
    )
    return findings, subscores, result
