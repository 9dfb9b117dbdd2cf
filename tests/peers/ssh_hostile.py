"""Hostile and hanging SSH servers on loopback, for the check's bounds: silent, stalling after the
banner, trickling bytes, flooding ignored messages, and KEXINITs that are garbage, lie about
their lengths or are as large as a packet may be. Each handler gives up by itself after
`HOLD_SECONDS`, so a test ends even if the check under test did not."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator

from checks.ssh.transport import NAME_LISTS, kexinit_payload
from checks.ssh.wire import mpint, string, uint32

HOLD_SECONDS = 4.0
BANNER = b"SSH-2.0-Hostile_1.0\r\n"


def packet(payload: bytes) -> bytes:
    """A cleartext binary packet as RFC 4253 6 frames it."""
    padding = 8 - (5 + len(payload)) % 8 + 8
    return uint32(1 + len(payload) + padding) + bytes([padding]) + payload + bytes(padding)


def _hold(sock: socket.socket) -> None:
    """Keep the connection open, answering nothing, until the client leaves or time is up."""
    sock.settimeout(HOLD_SECONDS)
    deadline = time.monotonic() + HOLD_SECONDS
    try:
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    except OSError:
        pass


def silent(sock: socket.socket) -> None:
    """Accepts and never sends a banner."""
    _hold(sock)


def banner_then_stall(sock: socket.socket) -> None:
    """Sends its banner, reads the client's, and never sends a KEXINIT."""
    sock.sendall(BANNER)
    _hold(sock)


def _trickle(sock: socket.socket, data: bytes) -> None:
    deadline = time.monotonic() + HOLD_SECONDS
    try:
        for byte in data:
            if time.monotonic() > deadline:
                return
            sock.sendall(bytes([byte]))
            time.sleep(0.05)
    except OSError:
        return


def trickling_banner(sock: socket.socket) -> None:
    """Sends an endless banner-like line one byte every 50 ms."""
    _trickle(sock, b"SSH-2.0-" + b"a" * 10_000)


def trickling_kexinit(sock: socket.socket) -> None:
    """Sends its banner at once, then a valid KEXINIT one byte every 50 ms."""
    sock.sendall(BANNER)
    _trickle(sock, packet(kexinit_payload({"kex_algorithms": ["curve25519-sha256"]})))


def ignore_flood(sock: socket.socket) -> None:
    """Sends its banner, then SSH_MSG_IGNORE packets as fast as it can (RFC 4253 11.2 lets a
    server send them at any time), never a KEXINIT."""
    sock.sendall(BANNER)
    flood = packet(bytes([2]) + string(os.urandom(1000))) * 30
    deadline = time.monotonic() + HOLD_SECONDS
    try:
        while time.monotonic() < deadline:
            sock.sendall(flood)
    except OSError:
        return


def _then_hold(data: bytes) -> Callable[[socket.socket], None]:
    def handle(sock: socket.socket) -> None:
        sock.sendall(BANNER + data)
        _hold(sock)

    return handle


# A packet length far past any packet (4 GiB less a little).
absurd_length = _then_hold(uint32(0xFFFFFFF0) + bytes(64))
# Message 20 followed by random bytes: its first name-list length is garbage.
garbage_kexinit = _then_hold(packet(bytes([20]) + os.urandom(600)))
# A KEXINIT whose first name-list claims more bytes than the packet holds.
lying_kexinit = _then_hold(packet(bytes([20]) + bytes(16) + uint32(30_000) + b"curve25519-sha256"))
# The largest KEXINIT a packet allows: thousands of made-up key exchange names.
GIANT_NAMES = [f"x{i:05d}-made-up@hostile.example" for i in range(1000)]
giant_kexinit = _then_hold(
    packet(
        kexinit_payload(
            {name: ["none"] for name in NAME_LISTS}
            | {"kex_algorithms": GIANT_NAMES, "server_host_key_algorithms": GIANT_NAMES[:50]}
        )
    )
)


def _read_packets(sock: socket.socket) -> Iterator[int]:
    """The message numbers of the client's cleartext packets, after its banner line."""
    buffer = b""
    while b"\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            return
        buffer += chunk
    buffer = buffer.split(b"\n", 1)[1]
    while True:
        while len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[:4], "big"):
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
        length = int.from_bytes(buffer[:4], "big")
        yield buffer[5]
        buffer = buffer[4 + length :]


# Every hybrid the check's client lists know: offered beside a group exchange, each judged client
# negotiates one (SSH-006, key exchange 100), so a cap the group exchange brings shows.
HYBRIDS = [
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
]
GEX = "diffie-hellman-group-exchange-sha256"


def _gex_lists(hybrids: bool) -> dict[str, list[str]]:
    return {name: ["none"] for name in NAME_LISTS} | {
        "kex_algorithms": [*(HYBRIDS if hybrids else []), GEX],
        "server_host_key_algorithms": ["ssh-ed25519"],
        "encryption_client_to_server": ["aes128-ctr"],
        "encryption_server_to_client": ["aes128-ctr"],
        "mac_client_to_server": ["hmac-sha2-256"],
        "mac_server_to_client": ["hmac-sha2-256"],
    }


def group_exchange_handing_out(
    bits: int,
    generator: int = 2,
    even: bool = False,
    padding: int = 0,
    hybrids: bool = False,
) -> Callable[[socket.socket], None]:
    """A server offering diffie-hellman-group-exchange-sha256 (after the hybrids, when asked)
    that answers every group request with a `bits`-bit number (odd unless `even`; not a checked
    prime: what a lying server sends), this generator, and `padding` needless zero bytes before
    the prime's mpint (RFC 4251 5 forbids them)."""
    prime = (1 << (bits - 1)) | (0 if even else 1)
    encoded = mpint(prime)
    if padding:
        body = bytes(padding) + encoded[4:]
        encoded = uint32(len(body)) + body

    def handle(sock: socket.socket) -> None:
        sock.settimeout(HOLD_SECONDS)
        try:
            sock.sendall(BANNER + packet(kexinit_payload(_gex_lists(hybrids))))
            for number in _read_packets(sock):
                if number == 34:  # SSH_MSG_KEX_DH_GEX_REQUEST
                    sock.sendall(packet(bytes([31]) + encoded + mpint(generator)))
        except OSError:
            return

    return handle


def group_exchange_stalling(sock: socket.socket) -> None:
    """Offers the hybrids and a group exchange, then never answers the group request."""
    lists = _gex_lists(hybrids=True) | {"server_host_key_algorithms": []}
    sock.sendall(BANNER + packet(kexinit_payload(lists)))
    _hold(sock)
