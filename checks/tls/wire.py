"""Just enough of the TLS wire format to ask one question per connection and read the answer.

The probe sends a ClientHello and reads until the server's first handshake message or an alert.
Everything read is bounded: record size, total bytes, the number of records and time. An answer
naming a version, cipher suite or group the hello did not offer is a protocol violation: a lie
that proves nothing, never support.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.tls.probe_kinds import Probe

HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
MAX_RECORD = 16384 + 2048
MAX_READ = 64 * 1024
# A first flight up to its ServerKeyExchange (ServerHello, a certificate chain of a few KiB) fits
# in a handful of records; a server trickling it in many tiny ones is stalling the probe.
MAX_RECORDS = 64

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

RENEGOTIATION_INFO = 0xFF01  # RFC 5746
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
FALLBACK_SCSV = 0x5600  # RFC 7507
INAPPROPRIATE_FALLBACK = 86  # the alert RFC 7507 asks for

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
    # Never sent: this scanner's OpenSSL cannot build the ClientHello (a group it lacks).
    NOT_BUILT = "not_built"
    # A ServerHello or HelloRetryRequest naming a version, suite or group it was not offered.
    VIOLATION = "protocol_violation"
    # Never sent: another probe's answer already answered its question (checks/tls/implied.py).
    # Not the server's answer to this hello: the verdicts judge the answer that implied it.
    IMPLIED = "implied"


# The server answered in TLS: what it said is its answer to the question asked.
TLS_ANSWERS = frozenset({Outcome.HELLO_RETRY, Outcome.SERVER_HELLO, Outcome.ALERT})
# No answer at all: a connection limit, a rate limit or a busy server does this as readily as a
# server that dislikes the question, so it is retried and at worst inconclusive.
INCONCLUSIVE = frozenset({Outcome.CLOSED, Outcome.TIMEOUT, Outcome.UNREACHABLE})
# No verdict either way: no answer, or one that is not an answer in TLS to what was asked (a lie,
# garbage, an oversized or trickled record). These are not retried (the same server answers the
# same way) but are judged as if unanswered: never a refusal that spares the server a finding.
# An implied answer is judged by the answer that implied it (implied.py `proving`); on its own
# it proves nothing, so a reader that forgot to look it up fails closed.
UNPROVEN = INCONCLUSIVE | {Outcome.VIOLATION, Outcome.GARBAGE, Outcome.OVERSIZED, Outcome.IMPLIED}


@dataclass(frozen=True)
class ServerAnswer:
    outcome: Outcome
    version: int | None = None
    selected_group: int | None = None
    cipher_suite: int | None = None
    alert: int | None = None
    detail: str = ""
    attempts: int = 1  # connections it took; 0 when probing ended before it was tried
    compression: int = 0  # the ServerHello's compression method: 0 null, 1 DEFLATE
    extensions: frozenset[int] = frozenset()  # the ServerHello's extension types
    # The prime's size in the ServerKeyExchange, for a probe that reads that far (a DHE suite)
    dh_bits: int | None = None
    renegotiation_info: bytes | None = None  # the ServerHello's renegotiation_info body, if any
    implied_by: Probe | None = None  # for an IMPLIED outcome: the probe whose answer settled it


@dataclass(frozen=True)
class Offer:
    """What a ClientHello offered, read back from the bytes sent: the answer must pick among it."""

    versions: frozenset[int]
    suites: frozenset[int]
    groups: frozenset[int]


def offer_of(hello: bytes) -> Offer | None:
    """The offer in a ClientHello record this scanner built; None if it cannot be read (then
    nothing is held against the answer, as before: the hello is ours, not the peer's)."""
    try:
        body = hello[9:]  # record header, handshake header
        legacy = struct.unpack_from("!H", body, 0)[0]
        at = 35 + body[34]
        (count,) = struct.unpack_from("!H", body, at)
        suites = struct.unpack_from(f"!{count // 2}H", body, at + 2)
        at += 2 + count
        at += 1 + body[at]
        (total,) = struct.unpack_from("!H", body, at)
        at, end = at + 2, at + 2 + total
        extensions: dict[int, bytes] = {}
        while at + 4 <= end:
            kind, length = struct.unpack_from("!HH", body, at)
            extensions[kind] = body[at + 4 : at + 4 + length]
            at += 4 + length
        groups: tuple[int, ...] = ()
        if 10 in extensions:
            groups = struct.unpack_from(f"!{len(extensions[10]) // 2 - 1}H", extensions[10], 2)
        # Any version up to legacy_version, as a server that ignores supported_versions
        # answers; and those supported_versions lists.
        versions = set(range(0x0300, legacy + 1))
        if 43 in extensions:
            listed = extensions[43][1:]
            versions |= set(struct.unpack_from(f"!{len(listed) // 2}H", listed))
    except (struct.error, IndexError):
        return None
    return Offer(frozenset(versions), frozenset(suites), frozenset(groups))


def held_to(answer: ServerAnswer, offer: Offer | None) -> ServerAnswer:
    """The answer, or a protocol violation when it picked what `offer` did not contain."""
    if offer is None or answer.outcome not in (Outcome.SERVER_HELLO, Outcome.HELLO_RETRY):
        return answer
    lies = []
    if answer.version not in offer.versions:
        lies.append(f"version 0x{answer.version or 0:04X}")
    if answer.cipher_suite not in offer.suites:
        lies.append(f"cipher suite 0x{answer.cipher_suite or 0:04X}")
    if answer.selected_group is not None and answer.selected_group not in offer.groups:
        lies.append(f"group 0x{answer.selected_group:04X}")
    if not lies:
        return answer
    said = f"{answer.outcome.value} named {', '.join(lies)}, not offered"
    # Nothing of it is kept but the words: a lie proves no version, suite or group.
    return ServerAnswer(Outcome.VIOLATION, detail=said)


def _vector(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _u16s(values: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def client_hello(
    server_name: str | None,
    version: int,
    groups: list[int],
    suites: tuple[int, ...],
    renegotiation_info: bool = False,
    deflate: bool = False,
) -> bytes:
    """A ClientHello for `version`. For TLS 1.3 the key_share is empty on purpose: a server that
    supports the single offered group must answer with a HelloRetryRequest naming it.
    `renegotiation_info`: the empty extension of an initial handshake (RFC 5746); `deflate`:
    offer DEFLATE compression before null (RFC 3749). Signalling suites (TLS_FALLBACK_SCSV) go in
    `suites` as any suite does."""
    legacy_version, rest = _hello_parts(
        server_name, version, tuple(groups), suites, renegotiation_info, deflate
    )
    body = legacy_version + os.urandom(32) + _vector(os.urandom(32), 1) + rest
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16" + struct.pack("!HH", 0x0301, len(handshake)) + handshake


@cache
def _hello_parts(
    server_name: str | None,
    version: int,
    groups: tuple[int, ...],
    suites: tuple[int, ...],
    renegotiation_info: bool,
    deflate: bool,
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
    if renegotiation_info:
        extensions.append(_extension(RENEGOTIATION_INFO, b"\x00"))
    compression = b"\x02\x01\x00" if deflate else b"\x01\x00"
    rest = _vector(_u16s(suites), 2) + compression + _vector(b"".join(extensions), 2)
    return struct.pack("!H", min(version, 0x0303)), rest


def _parse_server_hello(message: bytes) -> ServerAnswer:
    try:
        version = struct.unpack_from("!H", message, 0)[0]
        random = message[2:34]
        session_length = message[34]
        offset = 35 + session_length
        suite = struct.unpack_from("!H", message, offset)[0]
        compression = message[offset + 2]
        offset += 3
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
    return ServerAnswer(
        outcome,
        version=version,
        selected_group=group,
        cipher_suite=suite,
        compression=compression,
        extensions=frozenset(extensions),
        renegotiation_info=extensions.get(RENEGOTIATION_INFO),
    )


def _dh_bits(message: bytes) -> int | None:
    """The size of dh_p in a DHE ServerKeyExchange (dh_p, dh_g, dh_Ys, then the signature); None
    when the three do not each fit in the message, as in one cut short or made up."""
    at, values = 0, []
    for _ in range(3):
        if len(message) < at + 2:
            return None
        (length,) = struct.unpack_from("!H", message, at)
        if length == 0 or len(message) < at + 2 + length:
            return None
        values.append(message[at + 2 : at + 2 + length])
        at += 2 + length
    return int.from_bytes(values[0], "big").bit_length()


class AnswerReader:
    """Reads one connection's answer as it arrives, each byte once: records are taken off the
    front as they complete and handshake messages parsed as they complete, so a server that
    trickles its flight costs work in proportion to what it sent, not to its square.

    `feed` returns the answer once there is one (or None while more is needed); `at_end` what
    the bytes read amount to when the server closed or time ran out."""

    def __init__(self, key_exchange: bool = False) -> None:
        self.key_exchange = key_exchange
        self.received = 0  # bytes read in all
        self.records = 0
        self._pending = bytearray()  # read, not yet a whole record
        self._handshake = bytearray()  # handshake bytes not yet a whole message
        self.hello: ServerAnswer | None = None  # the ServerHello, once read whole

    def feed(self, chunk: bytes) -> ServerAnswer | None:
        self.received += len(chunk)
        self._pending.extend(chunk)
        at, answer = 0, None
        while answer is None and len(self._pending) >= at + 5:
            kind, major = self._pending[at], self._pending[at + 1]
            (length,) = struct.unpack_from("!H", self._pending, at + 3)
            if kind not in (20, 21, 22, 23) or major != 3:
                said = bytes(self._pending[at : at + 16]).hex()
                return ServerAnswer(Outcome.GARBAGE, detail=said)
            if length > MAX_RECORD:
                return ServerAnswer(Outcome.OVERSIZED, detail=f"record of {length} bytes")
            if len(self._pending) < at + 5 + length:
                break
            self.records += 1
            if self.records > MAX_RECORDS:
                why = f"more than {MAX_RECORDS} records before its answer was whole"
                return ServerAnswer(Outcome.GARBAGE, detail=why)
            payload = bytes(self._pending[at + 5 : at + 5 + length])
            at += 5 + length
            answer = self._record(kind, payload)
        del self._pending[:at]
        return answer

    def _record(self, kind: int, payload: bytes) -> ServerAnswer | None:
        if kind == 21 and len(payload) >= 2:
            if self.hello is not None:  # after the ServerHello: what was read stands, no more
                return replace(self.hello, detail=f"alert {payload[1]} before its key exchange")
            return ServerAnswer(Outcome.ALERT, alert=payload[1])
        if kind != 22:
            return None
        self._handshake.extend(payload)
        at, answer = 0, None
        while answer is None and len(self._handshake) >= at + 4:
            length = int.from_bytes(self._handshake[at + 1 : at + 4], "big")
            kind = self._handshake[at]
            if self.hello is None and kind != 2:
                return ServerAnswer(Outcome.GARBAGE, detail=f"handshake type {kind}")
            if len(self._handshake) < at + 4 + length:
                break
            message = bytes(self._handshake[at + 4 : at + 4 + length])
            at += 4 + length
            answer = self._message(kind, message)
        del self._handshake[:at]
        return answer

    def _message(self, kind: int, message: bytes) -> ServerAnswer | None:
        if self.hello is None:
            self.hello = _parse_server_hello(message)
            hello = self.hello
            tls12 = hello.outcome is Outcome.SERVER_HELLO and (hello.version or 0) <= 0x0303
            return None if self.key_exchange and tls12 else hello
        if kind == 12:  # ServerKeyExchange
            bits = _dh_bits(message)
            detail = "" if bits is not None else "malformed ServerKeyExchange"
            return replace(self.hello, dh_bits=bits, detail=detail)
        if kind == 14:  # ServerHelloDone: no key exchange message at all
            return replace(self.hello, detail="no ServerKeyExchange")
        return None

    def at_end(self, why: str = "") -> ServerAnswer:
        """What an answer cut short (the server closed, or time ran out: `why`) amounts to: a
        ServerHello read whole still stands, without the key exchange that did not follow."""
        if self.hello is not None:
            return replace(self.hello, detail=f"{why or 'closed'} before its key exchange")
        if why:
            return ServerAnswer(Outcome.TIMEOUT, detail=why)
        return ServerAnswer(Outcome.CLOSED, detail=f"closed after {self.received} bytes")


def parse_answer(buffer: bytes, key_exchange: bool = False) -> ServerAnswer | None:
    """The server's answer in `buffer`, or None while more is needed. With `key_exchange`, a
    TLS 1.2 answer is read on to the ServerKeyExchange (for a DHE prime)."""
    return AnswerReader(key_exchange).feed(buffer)


def answer_at_end(buffer: bytes, key_exchange: bool = False, why: str = "") -> ServerAnswer:
    """The answer in `buffer` when nothing more will come (see `AnswerReader.at_end`)."""
    reader = AnswerReader(key_exchange)
    return reader.feed(buffer) or reader.at_end(why)
