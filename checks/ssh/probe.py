"""The SSH check's probes, its only I/O: the server's KEXINIT, then one key exchange per host key
family the server offers (certificates included), each on its own connection (the first reuses
the KEXINIT's), and one group request per Diffie-Hellman group exchange it offers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from checks.catalogue.ssh import SshDhGroup, SshHostCertificate, SshHostKey, SshHostKeyUnread
from checks.egress import Target
from checks.ssh.certificates import (
    HOST_CERT,
    USER_CERT,
    is_certificate,
    parse_certificate,
    signature_algorithm,
)
from checks.ssh.hostkeys import host_key_plan, parse_host_key, signature_verifies
from checks.ssh.kex import (
    NOTHING_IN_COMMON,
    KexReply,
    probe_kex,
    read_host_key,
    request_gex_group,
)
from checks.ssh.policy import ssh_policy
from checks.ssh.transport import KexInit, SshConnection
from checks.ssh.wire import SshProtocolError

# The exchanges after the first connection (group sizes, then host keys) get three times the
# per-answer timeout together, and never more than 45 s: with the first connection's 60 s at
# most, a server that answers its KEXINIT and then stalls still ends inside the sandbox's 120 s
# with what was read.
HOST_KEY_BUDGET, HOST_KEY_CAP_SECONDS = 3, 45.0
OUT_OF_TIME = "not tried: the probes ran out of time"

HostKeyProbe = SshHostKey | SshHostKeyUnread | SshHostCertificate
Found = TypeVar("Found", HostKeyProbe, SshDhGroup)
CERT_TYPES = {HOST_CERT: "host", USER_CERT: "user"}


@dataclass
class ProbeResult:
    kexinit: KexInit
    host_keys: list[HostKeyProbe] = field(default_factory=list)
    dh_groups: list[SshDhGroup] = field(default_factory=list)


def _certificate(algorithm: str, reply: KexReply) -> SshHostCertificate:
    cert = parse_certificate(reply.host_key)
    plain = signature_algorithm(algorithm)
    signed = signature_verifies(cert.key, plain, reply.signature, reply.exchange_hash)
    return SshHostCertificate(
        algorithm=algorithm,
        kex=reply.kex,
        cert_type=CERT_TYPES.get(cert.cert_type, str(cert.cert_type)),
        key_id=cert.key_id,
        principals=cert.principals,
        valid_after=cert.valid_after,
        valid_before=cert.valid_before,
        key_type=cert.key.key_type,
        key_bits=cert.key.bits,
        fingerprint=cert.key.fingerprint,
        ca_key_type=cert.ca.key_type,
        ca_key_bits=cert.ca.bits,
        ca_fingerprint=cert.ca.fingerprint,
        ca_signature_algorithm=cert.ca_signature_algorithm,
        ca_signature_verified=cert.ca_signature_verified,
        signature_verified=signed,
    )


def _host_key(connection: SshConnection, kexinit: KexInit, algorithm: str) -> HostKeyProbe:
    try:
        reply = read_host_key(connection, kexinit, algorithm)
        if is_certificate(algorithm):
            found: HostKeyProbe = _certificate(algorithm, reply)
        else:
            key = parse_host_key(reply.host_key)
            found = SshHostKey(
                algorithm=algorithm,
                key_type=key.key_type,
                key_bits=key.bits,
                fingerprint=key.fingerprint,
                kex=reply.kex,
                signature_verified=signature_verifies(
                    key, algorithm, reply.signature, reply.exchange_hash
                ),
            )
    except SshProtocolError as exc:
        return SshHostKeyUnread(algorithm=algorithm, reason=str(exc), attempted=True)
    connection.disconnect()
    return found


def _gex_group(connection: SshConnection, kexinit: KexInit, kex: str) -> SshDhGroup:
    try:
        group = request_gex_group(connection, kexinit, kex)
    except SshProtocolError as exc:
        return SshDhGroup(kex=kex, source="group exchange", reason=str(exc))
    connection.disconnect()
    bits = group.bits or None  # a p that is no canonical mpint has no size worth reading
    return SshDhGroup(kex=kex, bits=bits, source="group exchange", violation=group.violation)


def _on_new_connection(
    target: Target,
    timeout: float,
    deadline: float,
    run: Callable[[SshConnection, KexInit], Found],
    failed: Callable[[str], Found],
) -> Found:
    if time.monotonic() >= deadline:
        return failed(OUT_OF_TIME)
    with SshConnection(target, timeout, deadline) as connection:
        try:
            again = connection.open()
        except SshProtocolError as exc:
            return failed(str(exc))
        return run(connection, again)


def probe(target: Target, timeout: float) -> ProbeResult:
    """The server's KEXINIT (a failure to read it ends the check), each group exchange's group
    size and what each host key exchange gave (a failure there is recorded with its reason)."""
    with SshConnection(target, timeout) as connection:
        kexinit = connection.open()
        result = ProbeResult(kexinit)
        plan, not_read = host_key_plan(kexinit.lists["server_host_key_algorithms"])
        result.host_keys += [
            SshHostKeyUnread(
                algorithm=a, reason="not a type the check reads (a security key or unknown)"
            )
            for a in not_read
        ]
        if plan and probe_kex(kexinit) is None:
            # Every further host key exchange would fail the same way.
            result.host_keys += [
                SshHostKeyUnread(algorithm=a, reason=NOTHING_IN_COMMON, attempted=True)
                for a in plan
            ]
            plan = []
        elif plan:
            result.host_keys.append(_host_key(connection, kexinit, plan[0]))
            plan = plan[1:]
    deadline = time.monotonic() + min(timeout * HOST_KEY_BUDGET, HOST_KEY_CAP_SECONDS)
    # The group sizes first: at most two quick requests, so a server that stalls its host key
    # exchanges cannot spend the budget and leave a weak group unread.
    offered = kexinit.lists["kex_algorithms"]
    for kex in [name for name in ssh_policy().dh_group_exchange if name in offered]:
        result.dh_groups.append(
            _on_new_connection(
                target,
                timeout,
                deadline,
                lambda c, k, x=kex: _gex_group(c, k, x),
                lambda reason, x=kex: SshDhGroup(kex=x, source="group exchange", reason=reason),
            )
        )
    for algorithm in plan:
        result.host_keys.append(
            _on_new_connection(
                target,
                timeout,
                deadline,
                lambda c, k, a=algorithm: _host_key(c, k, a),
                lambda reason, a=algorithm: SshHostKeyUnread(
                    algorithm=a, reason=reason, attempted=True
                ),
            )
        )
    return result
