"""SSH: the server's KEXINIT, what real clients would negotiate from it, and its host keys."""

from __future__ import annotations

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


class TerrapinExposure(StrEnum):
    """CVE-2023-48795: a man in the middle deleting packets at the start of the channel."""

    MITIGATED = "mitigated"  # the server does strict key exchange
    VULNERABLE = "vulnerable"  # no strict key exchange, and ChaCha20-Poly1305 or EtM offered
    NOT_EXPOSED = "not exposed"  # no strict key exchange, but neither affected mode offered


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
    host_keys: tuple[SshHostKey, ...] = ()
    host_keys_not_read: tuple[SshHostKeyUnread, ...] = ()
    weak_ciphers: tuple[str, ...] = ()  # either direction
    weak_macs: tuple[str, ...] = ()  # either direction


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.ssh import run_ssh_check

    return run_ssh_check(order.check.target, policy, timeout=order.check.timeout)


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    """Each key exchange and host key algorithm the server offers, and each host key read."""
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
    for key in result.host_keys:
        sized = key.key_type in ("RSA", "DSA") and key.key_bits
        name = f"{key.key_type}-{key.key_bits}" if sized else key.key_type
        classification = key_classification(key.key_type, key.key_bits)
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
    for unread in result.host_keys_not_read:
        lines.append(f"host key {unread.algorithm} not read: {unread.reason}")
    if result.terrapin is not None:
        lines.append(f"strict key exchange: {'yes' if result.strict_kex else 'no'}")
        lines.append(f"Terrapin (CVE-2023-48795): {result.terrapin.value}")
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
