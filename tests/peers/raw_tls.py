"""A tiny TLS 1.0-1.2 server that writes its first flight by hand: what no maintained TLS stack
can be made to do any more (select DEFLATE, leave out renegotiation_info, accept a fallback
signalled with TLS_FALLBACK_SCSV, send a 512-bit or malformed DH prime), on a real socket; and
what a hostile one does (name a group, suite or version it was not offered, garble
renegotiation_info, trickle its flight in one-byte records, stall only some hellos).

It reads the ClientHello, answers with a ServerHello (and for a DHE suite a ServerKeyExchange
and ServerHelloDone), a HelloRetryRequest or an alert, then closes: no handshake is ever
completed. `contradicting` puts a lie in front of a real server for one hello only."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

ECDHE_RSA_AES128_GCM, DHE_RSA_AES128_GCM = 0xC02F, 0x009E
ECDHE_RSA_AES128_CBC = 0xC013  # TLS 1.0 and 1.1 have no GCM
RENEGOTIATION_INFO, EMPTY_RENEGOTIATION_SCSV, FALLBACK_SCSV = 0xFF01, 0x00FF, 0x5600
TLS_AES_128_GCM = 0x1301
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
PADDING = 21  # RFC 7685: a ServerHello never carries it, which is why a liar can


@dataclass(frozen=True)
class Hello:
    version: int
    suites: tuple[int, ...]
    compressions: bytes
    extensions: frozenset[int]
    groups: tuple[int, ...] = ()  # supported_groups, in order
    tls13: bool = False  # supported_versions lists TLS 1.3
    raw: bytes = b""  # the record as read

    @property
    def ffdhe(self) -> bool:
        return any(0x0100 <= g <= 0x01FF for g in self.groups)


@dataclass(frozen=True)
class RawPeer:
    """How the peer answers. `versions`: the ones it speaks (TLS 1.3 never: it ignores
    supported_versions, as a TLS 1.2 server does). `suites`: the ones it takes, first offered
    wins. `dh_prime`: the dh_p it sends for a DHE suite; `cut_key_exchange`: send a
    ServerKeyExchange whose prime is cut short."""

    versions: tuple[int, ...] = (0x0303,)
    suites: tuple[int, ...] = (ECDHE_RSA_AES128_GCM, ECDHE_RSA_AES128_CBC)
    deflate: bool = False  # select DEFLATE when offered
    compression_method: int | None = None  # select this method whatever was offered
    secure_renegotiation: bool = True
    honour_fallback_scsv: bool = True
    fallback_alert: int = 86  # inappropriate_fallback; another is a refusal that proves nothing
    dh_prime: bytes = b""
    cut_key_exchange: bool = False
    linger: float = 0.0  # seconds to stay silent after its flight before closing
    # Lies and stalls. `lie_group`: to a TLS 1.3 hello that does not list it, a
    # HelloRetryRequest naming it; to one that does, a refusal. `forced_suite`,
    # `forced_version`: the ServerHello names these whatever was offered.
    lie_group: int | None = None
    forced_suite: int | None = None
    forced_version: int | None = None
    renegotiation_body: bytes = b"\x00"  # RFC 5746's initial handshake: an empty one
    trickle: int = 0  # send the flight in records of this many bytes (0: one record)
    padding: int = 0  # bytes of a padding extension in the ServerHello, to make it long
    # Seconds to stay silent to a TLS 1.2 hello listing no FFDHE group: the DHE probe asking
    # for the server's own prime.
    stall_unless_ffdhe: float = 0.0
    # Seconds to stay silent to the first TLS 1.2 hello with renegotiation_info (one lost
    # answer to the renegotiation probe).
    stall_first_renegotiation: float = 0.0
    stalled: threading.Event = field(default_factory=threading.Event, compare=False)

    def __call__(self, sock: socket.socket) -> None:
        hello = _read_hello(sock)
        if hello is None:
            return
        if self.stall_unless_ffdhe and not (hello.ffdhe or hello.tls13):
            time.sleep(self.stall_unless_ffdhe)
            return
        # OpenSSL's TLS 1.3 hellos carry it too: the renegotiation probe is a TLS 1.2 hello.
        asks_renegotiation = RENEGOTIATION_INFO in hello.extensions and not hello.tls13
        if self.stall_first_renegotiation and asks_renegotiation and not self.stalled.is_set():
            self.stalled.set()  # one probe asks this at a time: its retry follows the stall
            time.sleep(self.stall_first_renegotiation)
            return
        if self.lie_group is not None and hello.tls13:
            if self.lie_group in hello.groups:
                sock.sendall(_alert(40, 0x0303))
            else:
                sock.sendall(_record(22, 0x0303, hello_retry(self.lie_group)))
            return
        version = min(hello.version, max(self.versions))
        if self.forced_version is not None:
            version = self.forced_version
        if version not in self.versions:
            sock.sendall(_alert(70, version))  # protocol_version
            return
        if (
            self.honour_fallback_scsv
            and FALLBACK_SCSV in hello.suites
            and version < max(self.versions)
        ):
            sock.sendall(_alert(self.fallback_alert, version))
            return
        suite = self.forced_suite or next((s for s in hello.suites if s in self.suites), None)
        if suite is None:
            sock.sendall(_alert(40, version))  # handshake_failure
            return
        flight = self._flight(hello, version, suite)
        step = self.trickle or len(flight)
        sock.sendall(
            b"".join(
                _record(22, version, flight[at : at + step]) for at in range(0, len(flight), step)
            )
        )
        time.sleep(self.linger)

    def _flight(self, hello: Hello, version: int, suite: int) -> bytes:
        compression = 1 if self.deflate and 1 in hello.compressions else 0
        if self.compression_method is not None:
            compression = self.compression_method
        extensions = b""
        asked = RENEGOTIATION_INFO in hello.extensions or EMPTY_RENEGOTIATION_SCSV in hello.suites
        if self.secure_renegotiation and asked:
            extensions += struct.pack("!H", RENEGOTIATION_INFO) + _vector(
                self.renegotiation_body, 2
            )
        if self.padding:
            extensions += struct.pack("!H", PADDING) + _vector(bytes(self.padding), 2)
        body = struct.pack("!H", version) + bytes(32) + b"\x00"
        body += struct.pack("!HB", suite, compression) + _vector(extensions, 2)
        flight = _message(2, body)
        if suite == DHE_RSA_AES128_GCM and self.dh_prime:
            prime = _vector(self.dh_prime, 2)
            if self.cut_key_exchange:
                prime = prime[: len(prime) // 2]
            params = prime + _vector(b"\x02", 2) + _vector(b"\x05" * len(self.dh_prime), 2)
            flight += _message(12, params + b"\x04\x01" + _vector(b"\x00" * 64, 2))
            flight += _message(14, b"")
        return flight


def hello_retry(group: int) -> bytes:
    """A HelloRetryRequest (RFC 8446 4.1.4) asking for a key share for `group`."""
    extensions = struct.pack("!HHH", 43, 2, 0x0304) + struct.pack("!HHH", 51, 2, group)
    body = struct.pack("!H", 0x0303) + HRR_RANDOM + b"\x00"
    body += struct.pack("!HB", TLS_AES_128_GCM, 0) + _vector(extensions, 2)
    return _message(2, body)


def contradicting(
    upstream_port: int, lie_to: Callable[[Hello], bool], group: int
) -> Callable[[socket.socket], None]:
    """A handler that answers the first hello `lie_to` picks with a HelloRetryRequest naming
    `group`, and relays every other connection, hello included, to the real server on
    `upstream_port`: one question answered two ways."""
    lied = threading.Event()
    lock = threading.Lock()

    def handle(sock: socket.socket) -> None:
        hello = _read_hello(sock)
        if hello is None:
            return
        with lock:
            lie = not lied.is_set() and lie_to(hello)
            if lie:
                lied.set()
        if lie:
            sock.sendall(_record(22, 0x0303, hello_retry(group)))
            return
        with socket.create_connection(("127.0.0.1", upstream_port), 5) as upstream:
            upstream.sendall(hello.raw)
            _relay(sock, upstream)

    return handle


def _relay(client: socket.socket, server: socket.socket, seconds: float = 5.0) -> None:
    pipes = {client: server, server: client}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for source in select.select(list(pipes), [], [], 0.2)[0]:
            with contextlib.suppress(OSError):
                data = source.recv(65536)
                if data:
                    pipes[source].sendall(data)
                    continue
            return


def _vector(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _record(kind: int, version: int, payload: bytes) -> bytes:
    return struct.pack("!BHH", kind, version, len(payload)) + payload


def _alert(description: int, version: int) -> bytes:
    return _record(21, version, bytes([2, description]))


def _read_hello(sock: socket.socket) -> Hello | None:
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    body = data[9 : 5 + int.from_bytes(data[3:5], "big")]  # after the handshake header
    version = int.from_bytes(body[:2], "big")
    at = 34 + 1 + body[34]  # version, random, session id
    count = int.from_bytes(body[at : at + 2], "big")
    suites = struct.unpack_from(f"!{count // 2}H", body, at + 2)
    at += 2 + count
    compressions = body[at + 1 : at + 1 + body[at]]
    at += 1 + body[at]
    extensions: dict[int, bytes] = {}
    end = at + 2 + int.from_bytes(body[at : at + 2], "big")
    at += 2
    while at + 4 <= end:
        kind, length = struct.unpack_from("!HH", body, at)
        extensions[kind] = body[at + 4 : at + 4 + length]
        at += 4 + length
    listed = extensions.get(10, b"\x00\x00")[2:]
    groups = struct.unpack_from(f"!{len(listed) // 2}H", listed)
    versions = extensions.get(43, b"\x00")[1:]
    tls13 = 0x0304 in struct.unpack_from(f"!{len(versions) // 2}H", versions)
    return Hello(
        version, tuple(suites), compressions, frozenset(extensions), groups, tls13, bytes(data)
    )
