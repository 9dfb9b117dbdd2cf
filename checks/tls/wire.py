"""Just enough of the TLS wire format to ask one question per connection and read the answer.

The probe sends a ClientHello and reads until the server's first handshake message or an alert.
Everything read is bounded: record size, total bytes and time.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
MAX_RECORD = 16384 + 2048
MAX_READ = 64 * 1024

TLS13_SUITES = (0x1301, 0x1302, 0x1303)
TLS12_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009C, 0x009D)
LEGACY_SUITES = (0xC009, 0xC013, 0xC00A, 0xC014, 0x002F, 0x0035, 0x000A)
SIGNATURE_SCHEMES = (
    0x0904,
    0x0905,
    0x0906,
    0x0403,
    0x0503,
    0x0603,
    0x0807,
    0x0808,
    0x0804,
    0x0805,
    0x0806,
    0x0401,
    0x0501,
    0x0601,
    0x0201,
    0x0203,
)

TLS_VERSIONS = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0"}


class Outcome(StrEnum):
    HELLO_RETRY = "hello_retry"
    SERVER_HELLO = "server_hello"
    ALERT = "alert"
    GARBAGE = "garbage"
    CLOSED = "closed"
    TIMEOUT = "timeout"
    OVERSIZED = "oversized"
    UNREACHABLE = "unreachable"


# The server answered in TLS: what it said is its answer to the question asked.
TLS_ANSWERS = frozenset({Outcome.HELLO_RETRY, Outcome.SERVER_HELLO, Outcome.ALERT})
# No answer at all: a connection limit, a rate limit or a busy server does this as readily as a
# server that dislikes the question, so it is retried and at worst inconclusive.
INCONCLUSIVE = frozenset({Outcome.CLOSED, Outcome.TIMEOUT, Outcome.UNREACHABLE})


@dataclass(frozen=True)
class ServerAnswer:
    outcome: Outcome
    version: int | None = None
    selected_group: int | None = None
    cipher_suite: int | None = None
    alert: int | None = None
    detail: str = ""
    attempts: int = 1  # connections it took; 0 when probing ended before it was tried


def _vector(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _u16s(values: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def client_hello(
    server_name: str | None, version: int, groups: list[int], suites: tuple[int, ...]
) -> bytes:
    """A ClientHello for `version`. For TLS 1.3 the key_share is empty on purpose: a server that
    supports the single offered group must answer with a HelloRetryRequest naming it."""
    legacy_version, rest = _hello_parts(server_name, version, tuple(groups), suites)
    body = legacy_version + os.urandom(32) + _vector(os.urandom(32), 1) + rest
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16" + struct.pack("!HH", 0x0301, len(handshake)) + handshake


@cache
def _hello_parts(
    server_name: str | None, version: int, groups: tuple[int, ...], suites: tuple[int, ...]
) -> tuple[bytes, bytes]:
    # All but the random and session id, built once per question: a plan asks the same ones
    # of every endpoint, and building them is a good part of a probe's cost on loopback.
    extensions = []
    if server_name:
        name = server_name.encode("idna")
        extensions.append(_extension(0, _vector(b"\x00" + _vector(name, 2), 2)))
    extensions.append(_extension(10, _vector(_u16s(groups), 2)))
    extensions.append(_extension(11, b"\x01\x00"))  # ec_point_formats: uncompressed
    extensions.append(_extension(13, _vector(_u16s(SIGNATURE_SCHEMES), 2)))
    if version == 0x0304:
        extensions.append(_extension(43, _vector(struct.pack("!H", 0x0304), 1)))
        extensions.append(_extension(51, _vector(b"", 2)))
        extensions.append(_extension(45, b"\x01\x01"))  # psk_key_exchange_modes: psk_dhe_ke
    rest = _vector(_u16s(suites), 2) + b"\x01\x00" + _vector(b"".join(extensions), 2)
    return struct.pack("!H", min(version, 0x0303)), rest


def _parse_server_hello(message: bytes) -> ServerAnswer:
    try:
        version = struct.unpack_from("!H", message, 0)[0]
        random = message[2:34]
        session_length = message[34]
        offset = 35 + session_length
        suite = struct.unpack_from("!H", message, offset)[0]
        offset += 3  # cipher suite and compression method
        extensions: dict[int, bytes] = {}
        if offset < len(message):
            total = struct.unpack_from("!H", message, offset)[0]
            offset += 2
            end = offset + total
            while offset + 4 <= end:
                kind, length = struct.unpack_from("!HH", message, offset)
                extensions[kind] = message[offset + 4 : offset + 4 + length]
                offset += 4 + length
    except (struct.error, IndexError):
        return ServerAnswer(Outcome.GARBAGE, detail="truncated ServerHello")
    if 43 in extensions and len(extensions[43]) >= 2:
        version = struct.unpack_from("!H", extensions[43])[0]
    group = None
    if 51 in extensions and len(extensions[51]) >= 2:
        group = struct.unpack_from("!H", extensions[51])[0]
    outcome = Outcome.HELLO_RETRY if random == HRR_RANDOM else Outcome.SERVER_HELLO
    return ServerAnswer(outcome, version=version, selected_group=group, cipher_suite=suite)


def parse_answer(buffer: bytes) -> ServerAnswer | None:
    """The server's answer from what has been read so far, or None while more is needed."""
    offset, handshake = 0, bytearray()
    while True:
        if len(buffer) < offset + 5:
            return None
        kind, major = buffer[offset], buffer[offset + 1]
        (length,) = struct.unpack_from("!H", buffer, offset + 3)
        if kind not in (20, 21, 22, 23) or major != 3:
            return ServerAnswer(Outcome.GARBAGE, detail=bytes(buffer[:16]).hex())
        if length > MAX_RECORD:
            return ServerAnswer(Outcome.OVERSIZED, detail=f"record of {length} bytes")
        if len(buffer) < offset + 5 + length:
            return None
        payload = bytes(buffer[offset + 5 : offset + 5 + length])
        offset += 5 + length
        if kind == 21 and len(payload) >= 2:
            return ServerAnswer(Outcome.ALERT, alert=payload[1])
        if kind != 22:
            continue
        handshake.extend(payload)
        if len(handshake) >= 4:
            if handshake[0] != 2:
                return ServerAnswer(Outcome.GARBAGE, detail=f"handshake type {handshake[0]}")
            message_length = int.from_bytes(handshake[1:4], "big")
            if len(handshake) >= 4 + message_length:
                return _parse_server_hello(bytes(handshake[4 : 4 + message_length]))


def answer_at_end(buffer: bytes) -> ServerAnswer:
    """What an answer cut short by the server closing the connection amounts to."""
    return parse_answer(buffer) or ServerAnswer(
        Outcome.CLOSED, detail=f"closed after {len(buffer)} bytes"
    )
