"""The record layer against a server that trickles its answer: each byte is read once, and a
flight spread over more records than any server needs is refused as garbage, on a real socket
and record by record. Nothing here measures time: the work is bounded by counting records."""

from __future__ import annotations

import struct

from checks.egress import EgressPolicy
from checks.tls.check import run_tls_check
from checks.tls.wire import MAX_RECORDS, AnswerReader, Outcome
from tests.peers import servers
from tests.peers.raw_tls import DHE_RSA_AES128_GCM, RawPeer

LOOPBACK = EgressPolicy.loopback_only()


def _check(peer: RawPeer):  # type: ignore[no-untyped-def]
    with servers.serving(peer) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=3.0)


def _records(payload: bytes, size: int) -> bytes:
    return b"".join(
        struct.pack("!BHH", 22, 0x0303, len(payload[at : at + size])) + payload[at : at + size]
        for at in range(0, len(payload), size)
    )


def _server_hello(padding: int = 0) -> bytes:
    extensions = struct.pack("!HH", 21, padding) + bytes(padding) if padding else b""
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!HB", 0xC02F, 0)
    body += struct.pack("!H", len(extensions)) + extensions
    return b"\x02" + len(body).to_bytes(3, "big") + body


def test_a_server_hello_in_one_byte_records_is_refused_at_the_record_cap() -> None:
    # The review's input: a 60 000-byte ServerHello, one byte per record, all read at once.
    # Before, each record re-parsed every message so far (seconds of CPU for 3 000 records).
    reader = AnswerReader()
    answer = reader.feed(_records(_server_hello(padding=60_000), 1)[: 6 * 3000])
    assert answer is not None
    assert answer.outcome is Outcome.GARBAGE
    assert f"more than {MAX_RECORDS} records" in answer.detail
    assert reader.records == MAX_RECORDS + 1  # stopped there: nothing past it was parsed


def test_an_answer_fed_a_byte_at_a_time_reads_as_the_whole() -> None:
    # A DHE flight in 7-byte records, each record's bytes arriving one recv at a time.
    prime = b"\xff" * 32
    key_exchange = b"".join(struct.pack("!H", len(v)) + v for v in (prime, b"\x02", b"\x05"))
    flight = _server_hello() + b"\x0c" + len(key_exchange).to_bytes(3, "big") + key_exchange
    whole = AnswerReader(key_exchange=True).feed(_records(flight, len(flight)))
    reader = AnswerReader(key_exchange=True)
    stream = _records(flight, 7)
    answers = [reader.feed(stream[at : at + 1]) for at in range(len(stream))]
    assert answers[:-1] == [None] * (len(stream) - 1)
    assert answers[-1] == whole
    assert whole is not None
    assert whole.dh_bits == 256


def test_a_server_trickling_its_flight_in_one_byte_records_is_garbage_not_a_stall() -> None:
    # Every ServerHello it sends is a few thousand one-byte records; its alerts are whole.
    report = _check(RawPeer(trickle=1, padding=4000))
    answers = {c["client"]: c for c in report.details["clients"]}
    assert answers["browser"]["inconclusive"] is True
    assert f"garbage: more than {MAX_RECORDS} records" in answers["browser"]["answer"]
    # Garbage is no refusal: TLS 1.2, whose probes got it, is unknown, not "not spoken".
    assert report.details["versions"]["TLSv1.2"] is None
    suites = {s["suite_class"]: s["support"] for s in report.details["tls12_suites"]}
    assert suites["ecdhe"] == "inconclusive"
    assert "TLS-PROBE-001" in {f.code for f in report.findings}


def test_a_flight_in_a_few_small_records_is_read_as_one() -> None:
    # 16-byte records: a ServerHello over several records and a DHE key exchange over dozens
    # more, inside the cap, read as if whole.
    peer = RawPeer(suites=(DHE_RSA_AES128_GCM,), dh_prime=b"\xff" * 64, trickle=16)
    report = _check(peer)
    assert report.details["versions"]["TLSv1.2"] is True
    dh = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert (dh["verdict"], dh["dh_bits"]) == ("missing", 512)
    assert (
        next(s for s in report.details["safeguards"] if s["safeguard"] == "secure-renegotiation")[
            "verdict"
        ]
        == "in-place"
    )
