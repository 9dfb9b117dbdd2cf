"""The SSH check's probes, its only I/O: the server's KEXINIT, then one key exchange per host key
family the server offers, each on its own connection (the first reuses the KEXINIT's)."""

from __future__ import annotations

import time

from checks.catalogue.ssh import SshHostKey, SshHostKeyUnread
from checks.egress import Target
from checks.ssh.hostkeys import host_key_plan, parse_host_key, signature_verifies
from checks.ssh.kex import NOTHING_IN_COMMON, probe_kex, read_host_key
from checks.ssh.transport import KexInit, SshConnection
from checks.ssh.wire import SshProtocolError

# The host key exchanges after the first connection get three times the per-answer timeout
# together, and never more than 45 s: with the first connection's 60 s at most, a server that
# answers its KEXINIT and then stalls still ends inside the sandbox's 120 s with what was read.
HOST_KEY_BUDGET, HOST_KEY_CAP_SECONDS = 3, 45.0

HostKeyProbe = SshHostKey | SshHostKeyUnread


def _host_key(connection: SshConnection, kexinit: KexInit, algorithm: str) -> HostKeyProbe:
    try:
        reply = read_host_key(connection, kexinit, algorithm)
        key = parse_host_key(reply.host_key)
    except SshProtocolError as exc:
        return SshHostKeyUnread(algorithm=algorithm, reason=str(exc), attempted=True)
    connection.disconnect()
    return SshHostKey(
        algorithm=algorithm,
        key_type=key.key_type,
        key_bits=key.bits,
        fingerprint=key.fingerprint,
        kex=reply.kex,
        signature_verified=signature_verifies(key, algorithm, reply.signature, reply.exchange_hash),
    )


def probe(target: Target, timeout: float) -> tuple[KexInit, list[HostKeyProbe]]:
    """The server's KEXINIT (a failure to read it ends the check) and what each host key
    exchange gave (a failure there is recorded with its reason)."""
    with SshConnection(target, timeout) as connection:
        kexinit = connection.open()
        plan, not_read = host_key_plan(kexinit.lists["server_host_key_algorithms"])
        found: list[HostKeyProbe] = [
            SshHostKeyUnread(
                algorithm=a,
                reason="not a type the check reads (a certificate, a security key or unknown)",
            )
            for a in not_read
        ]
        if plan and probe_kex(kexinit) is None:
            # Every further connection would fail the same way.
            return kexinit, found + [
                SshHostKeyUnread(algorithm=a, reason=NOTHING_IN_COMMON, attempted=True)
                for a in plan
            ]
        if not plan:
            return kexinit, found
        found.append(_host_key(connection, kexinit, plan[0]))
    deadline = time.monotonic() + min(timeout * HOST_KEY_BUDGET, HOST_KEY_CAP_SECONDS)
    for algorithm in plan[1:]:
        if time.monotonic() >= deadline:
            reason = "not tried: the host key exchanges ran out of time"
            found.append(SshHostKeyUnread(algorithm=algorithm, reason=reason, attempted=True))
            continue
        with SshConnection(target, timeout, deadline) as connection:
            try:
                again = connection.open()
            except SshProtocolError as exc:
                found.append(SshHostKeyUnread(algorithm=algorithm, reason=str(exc), attempted=True))
                continue
            found.append(_host_key(connection, again, algorithm))
    return kexinit, found
