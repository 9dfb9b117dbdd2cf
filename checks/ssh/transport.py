"""The SSH transport as far as the check goes: banners, the cleartext binary packets before the
first NEWKEYS, and the server's KEXINIT. Every read is bounded in size and by one deadline; the
socket reaches only the address the egress policy vetted."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from types import TracebackType

from checks.egress import Target
from checks.ssh.wire import SshProtocolError, WireReader, name_list, string, uint32

CLIENT_BANNER = b"SSH-2.0-PoliceTechAssure_1.0"
MAX_BANNER_LINE = 255
MAX_PRE_BANNER_LINES = 20
MAX_PACKET = 35000
SSH_MSG_DISCONNECT = 1
SSH_MSG_IGNORE = 2
SSH_MSG_DEBUG = 4
SSH_MSG_KEXINIT = 20
# Messages a server may send at any time, which carry nothing for the check.
SKIPPED_MESSAGES = {SSH_MSG_IGNORE, SSH_MSG_DEBUG}
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


@dataclass(frozen=True)
class KexInit:
    banner: str
    lists: dict[str, list[str]]
    payload: bytes = field(default=b"", repr=False)  # as sent: the exchange hash covers it


def parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        raise SshProtocolError("SSH-005", f"expected KEXINIT, got message {payload[:1].hex()}")
    reader = WireReader(payload, "KEXINIT")
    reader.skip(17)  # the message number and the 16-byte cookie
    return {name: reader.name_list() for name in NAME_LISTS}


def kexinit_payload(lists: dict[str, list[str]]) -> bytes:
    body = b"".join(name_list(lists.get(name, [])) for name in NAME_LISTS)
    # first_kex_packet_follows false, and the reserved uint32.
    return bytes([SSH_MSG_KEXINIT]) + os.urandom(16) + body + b"\x00" + uint32(0)


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
            except OSError as exc:
                raise SshProtocolError("SSH-005", f"the connection failed: {exc}") from exc
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


class SshConnection:
    """One TCP connection to a vetted address, up to the server's KEXINIT and the cleartext key
    exchange after it."""

    def __init__(self, target: Target, timeout: float, deadline: float | None = None) -> None:
        self.target = target
        self.deadline = min(time.monotonic() + timeout, deadline or float("inf"))
        self.sock = socket.socket(target.family, socket.SOCK_STREAM)
        self.client_banner = CLIENT_BANNER
        self.server_banner = b""
        self._reader = _Reader(self.sock, self.deadline)

    def __enter__(self) -> SshConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.sock.close()

    def open(self) -> KexInit:
        """Connect, exchange identification lines, and read the server's KEXINIT."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SshProtocolError("SSH-005", "no time left to connect")
        self.sock.settimeout(remaining)
        try:
            self.sock.connect((self.target.address, self.target.port))
        except OSError as exc:
            raise SshProtocolError("NET-001", str(exc)) from exc
        for _ in range(MAX_PRE_BANNER_LINES + 1):
            line = self._reader.line()
            if line.startswith(b"SSH-"):
                break
        else:
            raise SshProtocolError("SSH-005", "no SSH banner")
        if not line.startswith(b"SSH-2.0-") and not line.startswith(b"SSH-1.99-"):
            raise SshProtocolError("SSH-005", f"not SSH 2.0: {line[:40]!r}")
        self.server_banner = line
        self._send_raw(CLIENT_BANNER + b"\r\n")
        payload = self.receive()
        return KexInit(
            banner=line.decode("ascii", errors="replace"),
            lists=parse_kexinit(payload),
            payload=payload,
        )

    def receive(self) -> bytes:
        """The next message's payload, past IGNORE and DEBUG; a DISCONNECT ends the probe."""
        while True:
            (length,) = struct.unpack("!I", self._reader.take(4))
            if not 5 <= length <= MAX_PACKET:
                raise SshProtocolError("SSH-005", f"packet length {length} out of bounds")
            packet = self._reader.take(length)
            padding = packet[0]
            if padding + 1 >= length:
                raise SshProtocolError("SSH-005", "packet padding longer than the packet")
            payload = packet[1 : length - padding]
            if payload[0] == SSH_MSG_DISCONNECT:
                reader = WireReader(payload[1:], "DISCONNECT")
                reader.uint32()
                reason = reader.string().decode("utf-8", errors="replace")[:200]
                raise SshProtocolError("SSH-005", f"the server disconnected: {reason}")
            if payload[0] not in SKIPPED_MESSAGES:
                return payload

    def send(self, payload: bytes) -> None:
        # Cleartext packets align to 8 bytes with at least 4 bytes of padding (RFC 4253 6).
        padding = 8 - (5 + len(payload)) % 8
        if padding < 4:
            padding += 8
        header = uint32(1 + len(payload) + padding) + bytes([padding])
        self._send_raw(header + payload + os.urandom(padding))

    def _send_raw(self, data: bytes) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SshProtocolError("SSH-005", "no answer in time")
        self.sock.settimeout(remaining)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise SshProtocolError("SSH-005", f"the connection failed: {exc}") from exc

    def disconnect(self) -> None:
        """Say goodbye (reason 11, by application) so the server logs a clean end."""
        with contextlib.suppress(SshProtocolError):
            self.send(bytes([SSH_MSG_DISCONNECT]) + uint32(11) + string(b"") + string(b""))
