"""The TLS check against real servers on loopback: OpenSSL 4 with hybrid ML-KEM, the system
OpenSSL 3.0 (classical only), restricted and misbehaving servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy, EgressRefused
from checks.report import ReportStatus
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate

LOOPBACK = EgressPolicy.loopback_only()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("certs")
    return {
        "ecdsa": make_certificate(folder / "ecdsa", "ecdsa"),
        "mldsa": make_certificate(folder / "mldsa", "mldsa65"),
        "expired": make_certificate(folder / "expired", "rsa2048", expired=True),
    }


def _check(handler, timeout: float = 3.0):
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=timeout)


def _codes(report) -> set[str]:
    return {f.code for f in report.findings}


def _supported(report) -> set[str]:
    return {g["name"] for g in report.details["groups"] if g["supported"]}


def test_openssl4_offers_and_prefers_hybrid_mlkem(certs) -> None:
    report = _check(servers.pyopenssl_handler(*certs["ecdsa"]))
    assert report.status is ReportStatus.COMPLETED
    assert {"X25519MLKEM768", "SecP256r1MLKEM768", "X25519"} <= _supported(report)
    assert report.details["handshake"]["group"] == "X25519MLKEM768"
    assert "PQC-TLS-004" in _codes(report)
    assert "PQC-TLS-002" not in _codes(report)
    assert report.subscores["key_exchange"] == 100
    assert report.details["versions"] == {
        "TLSv1.3": True,
        "TLSv1.2": True,
        "TLSv1.1": False,
        "TLSv1.0": False,
    }


def test_system_openssl3_is_classical_only(certs) -> None:
    report = _check(servers.stdlib_handler(*certs["ecdsa"]))
    assert "PQC-TLS-001" in _codes(report)
    assert not _supported(report) & {"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"}
    assert "X25519" in _supported(report)
    assert report.subscores["key_exchange"] == 0


def test_a_server_restricted_to_secp384r1mlkem1024_is_seen_exactly(certs) -> None:
    report = _check(servers.pyopenssl_handler(*certs["ecdsa"], groups="SecP384r1MLKEM1024"))
    assert _supported(report) == {"SecP384r1MLKEM1024"}
    assert report.details["handshake"]["group"] == "SecP384r1MLKEM1024"
    assert "PQC-TLS-001" not in _codes(report)


def test_pq_supported_but_classical_preferred_is_flagged(certs) -> None:
    report = _check(servers.pyopenssl_handler(*certs["ecdsa"], groups="X25519/X25519MLKEM768"))
    assert "X25519MLKEM768" in _supported(report)
    assert report.details["handshake"]["group"].lower() == "x25519"
    assert "PQC-TLS-002" in _codes(report)
    assert report.subscores["key_exchange"] == 70


def test_an_ml_dsa_certificate_is_recognised(certs) -> None:
    report = _check(servers.pyopenssl_handler(*certs["mldsa"]))
    leaf = report.details["certificates"][0]
    assert leaf["key_type"] == "ML-DSA-65"
    assert leaf["signature_algorithm"] == "ML-DSA-65"
    assert "CERT-005" in _codes(report)
    # The test certificate is self-signed: no client can validate it, so the chain finding is
    # right and caps the certificate sub-score whatever its algorithm (checks/tls/chain.py).
    assert "TLS-CHAIN-003" in _codes(report)
    assert report.subscores["signatures_and_certificates"] == 0


def test_an_expired_certificate_is_critical(certs) -> None:
    report = _check(servers.pyopenssl_handler(*certs["expired"]))
    expired = [f for f in report.findings if f.code == "CERT-001"]
    assert expired
    assert expired[0].severity == "critical"
    assert report.subscores["signatures_and_certificates"] == 0


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (servers.garbage_handler, "TLS-PROTO-001"),
        (servers.close_early_handler, "TLS-PROTO-002"),
        (servers.stall_handler, "TLS-PROTO-003"),
        (servers.oversized_handler, "TLS-PROTO-004"),
    ],
    ids=["garbage", "closes-early", "stalls", "oversized-record"],
)
def test_misbehaving_servers_give_one_clear_finding(handler, code: str) -> None:
    report = _check(handler, timeout=0.5)
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert _codes(report) == {code}
    assert report.score is None


def test_a_closed_port_is_unreachable() -> None:
    with servers.serving(servers.garbage_handler) as server:
        port = server.port
    report = run_tls_check(f"127.0.0.1:{port}", LOOPBACK, timeout=0.5)
    assert _codes(report) == {"NET-001"}


def test_loopback_is_refused_unless_allowed() -> None:
    with pytest.raises(EgressRefused, match="loopback"):
        run_tls_check("127.0.0.1:443", EgressPolicy())


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "[fe80::1]",
        "[::ffff:10.0.0.1]",
        "100.64.0.1",
        "0.0.0.0",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    with pytest.raises(EgressRefused, match="refused by the egress policy"):
        run_tls_check(f"{address}:443", LOOPBACK, timeout=0.2)
