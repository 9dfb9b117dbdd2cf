"""The SSH check: read the server's cleartext KEXINIT and classify what it offers.

Only the banner exchange and the server's first binary packet are needed; no keys are exchanged.
Every read is bounded in size and time.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from checks.catalogue.ssh import SshAlgorithm, SshResult
from checks.egress import EgressPolicy, Target, split_host_port
from checks.findings import CheckFinding, finding
from checks.readiness import assemble, key_exchange_score, signature_score
from checks.report import CheckReport
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

CLIENT_BANNER = b"SSH-2.0-PoliceTechAssure_1.0\r\n"
MAX_BANNER_LINE = 255
MAX_PRE_BANNER_LINES = 20
MAX_PACKET = 35000
SSH_MSG_KEXINIT = 20
NAME_LISTS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_client_to_server",
    "encryption_server_to_client",
    "mac_client_to_server",
    "mac_server_to_client",
    "compression_client_to_server",
    "compression_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)


class SshProtocolError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class KexInit:
    banner: str
    lists: dict[str, list[str]]


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline, self.buffer = sock, deadline, bytearray()

    def _fill(self, wanted: int) -> None:
        while len(self.buffer) < wanted:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise SshProtocolError("SSH-005", "no answer in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as exc:
                raise SshProtocolError("SSH-005", "no answer in time") from exc
            if not chunk:
                raise SshProtocolError("SSH-005", "the server closed the connection")
            self.buffer.extend(chunk)

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_BANNER_LINE:
                raise SshProtocolError("SSH-005", "banner line too long")
            self._fill(len(self.buffer) + 1)
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        return line.rstrip(b"\r")

    def take(self, count: int) -> bytes:
        self._fill(count)
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data


def parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        raise SshProtocolError("SSH-005", f"expected KEXINIT, got message {payload[:1].hex()}")
    offset, lists = 17, {}
    for name in NAME_LISTS:
        if offset + 4 > len(payload):
            raise SshProtocolError("SSH-005", "truncated KEXINIT")
        (length,) = struct.unpack_from("!I", payload, offset)
        offset += 4
        if offset + length > len(payload):
            raise SshProtocolError("SSH-005", "truncated KEXINIT")
        text = payload[offset : offset + length].decode("ascii", errors="replace")
        lists[name] = [item for item in text.split(",") if item]
        offset += length
    return lists


def read_kexinit(target: Target, timeout: float) -> KexInit:
    with socket.socket(target.family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((target.address, target.port))
        except OSError as exc:
            raise SshProtocolError("NET-001", str(exc)) from exc
        reader = _Reader(sock, time.monotonic() + timeout)
        for _ in range(MAX_PRE_BANNER_LINES + 1):
            line = reader.line()
            if line.startswith(b"SSH-"):
                break
        else:
            raise SshProtocolError("SSH-005", "no SSH banner")
        if not line.startswith(b"SSH-2.0-") and not line.startswith(b"SSH-1.99-"):
            raise SshProtocolError("SSH-005", f"not SSH 2.0: {line[:40]!r}")
        sock.sendall(CLIENT_BANNER)
        (length,) = struct.unpack("!I", reader.take(4))
        if not 5 <= length <= MAX_PACKET:
            raise SshProtocolError("SSH-005", f"packet length {length} out of bounds")
        packet = reader.take(length)
        padding = packet[0]
        payload = packet[1 : length - padding]
        return KexInit(banner=line.decode("ascii", errors="replace"), lists=parse_kexinit(payload))


def combine(
    kexinit: KexInit, address: str = ""
) -> tuple[list[CheckFinding], dict[str, float | None], SshResult]:
    index = algorithm_index()
    kex = kexinit.lists["kex_algorithms"]
    host_keys = kexinit.lists["server_host_key_algorithms"]
    classified = {name: index.ssh(name) for name in kex + host_keys}
    pq = [n for n in kex if classified[n].quantum_resistant]
    preferred = bool(kex) and kex[0] in pq
    findings: list[CheckFinding] = []
    if not pq:
        findings.append(finding("SSH-001", kex_algorithms=kex))
    elif preferred:
        findings.append(finding("SSH-006", post_quantum=pq, first=kex[0]))
    else:
        findings.append(finding("SSH-002", post_quantum=pq, first=kex[0]))
    broken_kex = [
        n for n in kex if classified[n].algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken_kex:
        findings.append(finding("SSH-003", algorithms=broken_kex))
    broken_keys = [
        n for n in host_keys if classified[n].algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken_keys:
        findings.append(finding("SSH-004", algorithms=broken_keys))
    known_keys = [
        classified[n]
        for n in host_keys
        if classified[n].algorithm_class is not AlgorithmClass.UNKNOWN
    ]
    subscores: dict[str, float | None] = {
        "key_exchange": key_exchange_score(bool(pq), preferred, False),
        "signatures_and_certificates": signature_score(known_keys) if known_keys else None,
    }
    result = SshResult(
        address=address,
        banner=kexinit.banner,
        kex_algorithms=tuple(
            SshAlgorithm(name=n, algorithm_class=classified[n].algorithm_class) for n in kex
        ),
        host_key_algorithms=tuple(
            SshAlgorithm(name=n, algorithm_class=classified[n].algorithm_class) for n in host_keys
        ),
        encryption=tuple(kexinit.lists["encryption_server_to_client"]),
        mac=tuple(kexinit.lists["mac_server_to_client"]),
    )
    return findings, subscores, result


def run_ssh_check(
    target_text: str, policy: EgressPolicy, timeout: float = 5.0, now: datetime | None = None
) -> CheckReport:
    started = datetime.now(UTC)
    host, port = split_host_port(target_text, 22)
    target = policy.resolve(host, port)
    moment = now or started
    try:
        findings, subscores, result = combine(read_kexinit(target, timeout), target.address)
    except SshProtocolError as exc:
        findings, subscores = [finding(exc.code, detail=str(exc))], {}
        result = SshResult(address=target.address)
    details = result.as_details()
    return assemble("ssh", target.label, started, findings, subscores, details, moment.date())
