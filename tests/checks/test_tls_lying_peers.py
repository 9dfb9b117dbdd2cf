"""Servers that lie, on real sockets: a group, cipher suite or version named that the hello did not
offer, and a client's answer that the full handshake (same groups, real OpenSSL) contradicts. A
lie is recorded and credited nothing: no group support, no preference tier, no refusal either."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.tls.check import run_tls_check
from checks.tls.policy import Judge, judged_by
from pq_crypto.catalogue import algorithm_index
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.raw_tls import ECDHE_RSA_AES128_GCM, Hello, RawPeer, contradicting

LOOPBACK = EgressPolicy.loopback_only()
INDEX = algorithm_index()
ML_KEM_1024 = INDEX.get("ML-KEM-1024").tls_groups[0]
X25519MLKEM768 = INDEX.get("X25519MLKEM768").tls_groups[0]


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "ecdsa")


def _check(handler: servers.Handler, timeout: float = 3.0):  # type: ignore[no-untyped-def]
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=timeout)


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def _client(report, client: str) -> dict:  # type: ignore[no-untyped-def]
    return next(c for c in report.details["clients"] if c["client"] == client)


def _group(report, name: str) -> dict:  # type: ignore[no-untyped-def]
    return next(g for g in report.details["groups"] if g["name"] == name)


def test_a_group_the_browser_never_offered_earns_no_support_and_no_preference() -> None:
    # It refuses ML-KEM-1024 whenever it is offered and names it to every hello that does not
    # offer it: the browser's among them. Credited, that was the 85-point tier.
    report = _check(RawPeer(lie_group=ML_KEM_1024))
    assert _group(report, "ML-KEM-1024")["support"] == "not-supported"
    browser = _client(report, "browser")
    assert (browser["group"], browser["inconclusive"]) == (None, True)
    assert "protocol_violation" in browser["answer"]
    assert f"group 0x{ML_KEM_1024:04X}, not offered" in browser["answer"]
    assert report.details["preference"] == "inconclusive"
    assert report.subscores["key_exchange"] == 0
    # The groups it was asked about alone got the lie too: not refused, not supported.
    x25519 = _group(report, "X25519")
    assert x25519["support"] == "inconclusive"
    assert "not offered" in x25519["answer"]
    unknown = next(f for f in report.findings if f.code == "TLS-PROBE-001").evidence
    assert "browser" in unknown["clients"]
    assert "X25519" in unknown["groups"]
    assert not _codes(report) & {"PQC-TLS-004", "PQC-TLS-005"}


def test_a_cipher_suite_never_offered_is_no_refusal_of_what_was() -> None:
    # Offered RSA key transport alone, it names an ECDHE suite: read as a refusal, that hid
    # TLS-SUITE-001 and the key exchange cap that goes with it.
    report = _check(RawPeer(forced_suite=ECDHE_RSA_AES128_GCM))
    by_class = {s["suite_class"]: s for s in report.details["tls12_suites"]}
    rsa = by_class["rsa-key-transport"]
    assert rsa["support"] == "inconclusive"
    assert "not offered" in rsa["answer"]
    assert (
        "rsa-key-transport"
        in next(f for f in report.findings if f.code == "TLS-PROBE-001").evidence["suite_classes"]
    )


def test_a_version_never_offered_leaves_the_version_asked_unknown() -> None:
    # Asked for TLS 1.0 or 1.1 only, it answers in TLS 1.2: no answer to what was asked.
    report = _check(RawPeer(versions=(0x0303,), forced_version=0x0303))
    versions = report.details["versions"]
    assert (versions["TLSv1.0"], versions["TLSv1.1"]) == (None, None)
    assert versions["TLSv1.2"] is True  # its own probes were answered in it, as offered
    unknown = next(f for f in report.findings if f.code == "TLS-PROBE-001").evidence
    assert {"TLSv1.0", "TLSv1.1"} <= set(unknown["versions"])


def _classical_first(hello: Hello) -> bool:
    return hello.tls13 and set(hello.groups) == set(judged_by(Judge.CLASSICAL_FIRST).codes)


def test_a_hybrid_named_to_the_classical_first_client_but_not_the_handshake_is_inconclusive(
    ecdsa,
) -> None:
    # A classical-only OpenSSL 4 behind a front that answers the classical-first client's hello
    # once with a HelloRetryRequest for X25519MLKEM768 (offered, so no violation); the full
    # handshake, sending the same groups, gets X25519 from the real server. Believed, the raw
    # answer was "PQ even when classical first" and 100 points.
    with servers.serving(servers.pyopenssl_handler(*ecdsa, groups="X25519")) as real:
        report = _check(contradicting(real.port, _classical_first, X25519MLKEM768))
    assert report.details["handshake"]["group"].lower() == "x25519"
    classical = _client(report, "classical-first")
    assert (classical["group"], classical["inconclusive"]) == (None, True)
    assert "contradicted by the full handshake" in classical["answer"]
    assert report.details["preference"] == "inconclusive"
    assert _group(report, "X25519MLKEM768")["support"] == "not-supported"
    assert report.subscores["key_exchange"] == 0
    unknown = next(f for f in report.findings if f.code == "TLS-PROBE-001").evidence
    assert "classical-first" in unknown["clients"]
