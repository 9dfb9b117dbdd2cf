"""SSH: the server's KEXINIT, what real clients would negotiate from it, and its host keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.cbom_export import algorithm_component
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class SshAlgorithm(ResultPart):
    name: str
    algorithm_class: AlgorithmClass = Field(alias="class")


class SshClientKex(ResultPart):
    """The key exchange one real client would negotiate: the first on its own list that the
    server offers (RFC 4253 7.1). Judged only when the client can do post-quantum at all."""

    client: str  # its id in checks/data/ssh_clients.yaml
    label: str
    kex: str | None = None  # None: nothing in common, the client cannot connect
    algorithm_class: AlgorithmClass | None = Field(default=None, alias="class")
    post_quantum_capable: bool = False


class SshHostKey(ResultPart):
    """A host key read from the server's KEX reply."""

    algorithm: str  # the host key algorithm asked for, e.g. rsa-sha2-512
    key_type: str  # the policy's id: RSA, DSA, ECDSA-P256, Ed25519, Ed448
    key_bits: int | None = None
    fingerprint: str = ""  # SHA256:..., as ssh-keygen -l prints it
    kex: str = ""  # the key exchange that carried it
    signature_verified: bool = False  # the server signed the exchange hash with it


class SshHostKeyUnread(ResultPart):
    algorithm: str
    reason: str
    attempted: bool = False  # False: a type the probe does not read (certificates, sk-)


class SshDhGroup(ResultPart):
    """A Diffie-Hellman key exchange's group size: fixed groups by name, a group exchange's as the
    server answered a request for 1024 to 8192 bits, preferring 2048 (RFC 4419)."""

    kex: str
    bits: int | None = None  # None: the group exchange's group could not be read
    source: str = "fixed"  # "fixed" or "group exchange"
    reason: str = ""  # why a group exchange's size is missing
    # How the group the server handed out breaks RFC 4419 (outside the sizes asked for, an even
    # prime, a generator outside 2..p-2, a padded encoding): never credited, whatever its size.
    violation: str = ""


class SshHostCertificate(ResultPart):
    """An OpenSSH certificate the server presented for a -cert-v01@openssh.com host key algorithm
    (PROTOCOL.certkeys): the certified key, its type and validity, and the CA that signed it."""

    algorithm: str
    kex: str = ""
    cert_type: str = ""  # "host", "user", or the number when it is neither
    key_id: str = ""
    principals: tuple[str, ...] = ()
    valid_after: datetime | None = None  # None: from the beginning
    valid_before: datetime | None = None  # None: forever
    validity: str = ""  # at the check's time: "valid", "expired" or "not yet valid"
    key_type: str = ""
    key_bits: int | None = None
    fingerprint: str = ""
    ca_key_type: str = ""
    ca_key_bits: int | None = None
    ca_fingerprint: str = ""
    ca_signature_algorithm: str = ""  # as the signature names it: ssh-ed25519, rsa-sha2-512...
    # The CA's signature over the certificate verifies, under an algorithm of the CA key's type.
    ca_signature_verified: bool = False
    signature_verified: bool = False  # the certified key signed the exchange hash


class TerrapinExposure(StrEnum):
    """CVE-2023-48795: a man in the middle deleting packets at the start of the channel."""

    MITIGATED = "mitigated"  # the server does strict key exchange
    # No strict key exchange, and an exploitable combination offered: ChaCha20-Poly1305, or a
    # CBC cipher with an encrypt-then-MAC MAC (checks/data/ssh_policy.yaml terrapin_exposures).
    VULNERABLE = "vulnerable"
    NOT_EXPOSED = "not exposed"  # no strict key exchange, but no exploitable combination


class SshResult(CheckResult):
    """What the server's KEXINIT offers, in its order of preference, what clients would get from
    it and the host keys read; only `address` when no KEXINIT was read."""

    banner: str | None = None  # the server's identification line
    kex_algorithms: tuple[SshAlgorithm, ...] = ()  # without the pseudo-algorithms
    host_key_algorithms: tuple[SshAlgorithm, ...] = ()
    encryption: tuple[str, ...] = ()  # server to client
    mac: tuple[str, ...] = ()  # server to client
    address: str = ""
    extensions: tuple[str, ...] = ()  # pseudo-algorithms in the kex list: ext-info-s, kex-strict
    strict_kex: bool | None = None
    terrapin: TerrapinExposure | None = None
    clients: tuple[SshClientKex, ...] = ()
    terrapin_exposures: tuple[str, ...] = ()  # "cipher" or "cipher + mac", strict or not
    host_keys: tuple[SshHostKey, ...] = ()  # read, and each signed the exchange hash
    # Read, but their signature over the exchange hash did not verify: any server can present
    # any key blob, so these are neither credited nor judged as the server's keys.
    host_keys_unverified: tuple[SshHostKey, ...] = ()
    host_keys_not_read: tuple[SshHostKeyUnread, ...] = ()
    host_certificates: tuple[SshHostCertificate, ...] = ()
    dh_groups: tuple[SshDhGroup, ...] = ()
    weak_ciphers: tuple[str, ...] = ()  # either direction
    weak_macs: tuple[str, ...] = ()  # either direction


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.ssh import run_ssh_check

    return run_ssh_check(order.check.target, policy, timeout=order.check.timeout)


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    """Each key exchange and host key algorithm the server offers, and each host key proven."""
    from checks.ssh.hostkeys import key_classification
    from checks.ssh.policy import ssh_policy

    result = SshResult.model_validate(report.details)
    index = algorithm_index()
    components = []
    lists = ((result.kex_algorithms, "kem"), (result.host_key_algorithms, "signature"))
    for offered, role in lists:
        for algorithm in offered:
            if ssh_policy().is_pseudo_kex(algorithm.name):
                continue  # a run stored before pseudo-algorithms were set apart
            classification = index.ssh(algorithm.name)
            # The policy's own usage when it knows the algorithm, else the list's role; the
            # role is not overwritten, so an unknown algorithm never inherits its neighbour's.
            usage = (
                index.get(classification.algorithm_id).usage
                if classification.algorithm_id
                else role
            )
            components.append(algorithm_component(algorithm.name, classification, usage))
    # Only keys a signature proved: the host keys that signed the exchange hash, and for a
    # certificate its key (when it signed) and its CA key (when the CA's signature verifies).
    keys = [(key.key_type, key.key_bits) for key in result.host_keys]
    for cert in result.host_certificates:
        if cert.signature_verified:
            keys.append((cert.key_type, cert.key_bits))
            if cert.ca_signature_verified:
                keys.append((cert.ca_key_type, cert.ca_key_bits))
    for key_type, bits in keys:
        sized = key_type in ("RSA", "DSA") and bits
        name = f"{key_type}-{bits}" if sized else key_type
        classification = key_classification(key_type, bits)
        components.append(algorithm_component(name, classification, "signature"))
    return components


def console_lines(report: CheckReport) -> list[str]:
    """What each client would negotiate, the host keys read and strict key exchange."""
    result = SshResult.model_validate(report.details)
    lines = [
        f"{client.label}: {client.kex or 'no key exchange in common'}"
        + (f" ({client.algorithm_class.value})" if client.algorithm_class else "")
        for client in result.clients
    ]
    for key in result.host_keys:
        size = f" {key.key_bits} bits" if key.key_bits else ""
        lines.append(f"host key {key.key_type}{size} ({key.algorithm}) {key.fingerprint}")
    for key in result.host_keys_unverified:
        lines.append(
            f"host key {key.key_type} ({key.algorithm}) {key.fingerprint}: its signature did not "
            "verify, not judged"
        )
    for unread in result.host_keys_not_read:
        lines.append(f"host key {unread.algorithm} not read: {unread.reason}")
    for cert in result.host_certificates:
        until = cert.valid_before.date().isoformat() if cert.valid_before else "forever"
        lines.append(
            f"host certificate {cert.algorithm}: {cert.cert_type} certificate, {cert.validity} "
            f"(until {until}), principals {', '.join(cert.principals) or 'any'}, CA "
            f"{cert.ca_key_type}{f' {cert.ca_key_bits} bits' if cert.ca_key_bits else ''} "
            f"{cert.ca_fingerprint}"
            + ("" if cert.ca_signature_verified else " (CA signature does not verify)")
        )
    for group in result.dh_groups:
        size = f"{group.bits} bits" if group.bits else f"size not read ({group.reason})"
        size += f", refused: {group.violation}" if group.violation else ""
        lines.append(f"DH group {group.kex} ({group.source}): {size}")
    if result.terrapin is not None:
        lines.append(f"strict key exchange: {'yes' if result.strict_kex else 'no'}")
        exposures = (
            f" ({', '.join(result.terrapin_exposures)})" if result.terrapin_exposures else ""
        )
        lines.append(f"Terrapin (CVE-2023-48795): {result.terrapin.value}{exposures}")
    return lines


SPEC = CheckSpec(
    kind=CheckKind.SSH,
    label="SSH endpoint (host:port)",
    summary=("Key exchange per real client, host keys, strict key exchange, ciphers and MACs."),
    input=InputKind.ENDPOINT,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=SshResult,
    console=console_lines,
)
