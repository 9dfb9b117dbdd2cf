"""TLS 1.2 cipher suite classes against real OpenSSL 4 servers on loopback, each restricted to
one class with `set_cipher_list`: RSA key transport (no forward secrecy, and with ML-KEM in TLS
1.3 a downgrade path that defeats it), ECDHE, DHE, CBC, NULL and anonymous suites. OpenSSL 4
cannot serve 3DES, RC4 or EXPORT suites at all, so those families are not tested on a peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.readiness import key_exchange_score
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.openssl_s_server import s_server

LOOPBACK = EgressPolicy.loopback_only()
CLASSES = ("rsa-key-transport", "ecdhe", "dhe", "cbc", "weak")


@pytest.fixture(scope="module")
def rsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "rsa2048")


@pytest.fixture(scope="module")
def dh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return servers.ffdhe2048(tmp_path_factory.mktemp("dh"))


def _check(handler: servers.Handler):  # type: ignore[no-untyped-def]
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def _accepted(report) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """Each class the server accepted, with the suite it picked; every class was answered."""
    suites = report.details["tls12_suites"]
    assert [s["suite_class"] for s in suites] == list(CLASSES)
    assert not [s for s in suites if s["support"] == "inconclusive"]
    return {s["suite_class"]: s["suite"] for s in suites if s["support"] == "supported"}


def test_rsa_key_transport_beside_ml_kem_is_a_downgrade_path(rsa) -> None:
    report = _check(servers.pyopenssl_handler(*rsa, ciphers="AES128-GCM-SHA256"))
    assert report.details["handshake"]["group"] == "X25519MLKEM768"
    assert _accepted(report) == {"rsa-key-transport": "TLS_RSA_WITH_AES_128_GCM_SHA256"}
    assert report.details["forward_secrecy_tls12"] is False
    assert report.details["tls13_suites_aead"] is True
    assert {"TLS-SUITE-002"} <= _codes(report)
    assert not {"TLS-SUITE-001", "TLS-SUITE-003", "TLS-SUITE-004"} & _codes(report)
    downgrade = next(f for f in report.findings if f.code == "TLS-SUITE-002")
    assert downgrade.severity == "high"
    assert "X25519MLKEM768" in downgrade.evidence["pq_groups"]
    # ML-KEM is preferred, yet the RSA fallback caps the key exchange at "PQ supported".
    assert report.subscores["key_exchange"] == key_exchange_score(True, False, False) < 100


def test_rsa_key_transport_without_post_quantum_is_no_forward_secrecy(rsa) -> None:
    report = _check(
        servers.pyopenssl_handler(*rsa, groups="X25519:P-256", ciphers="AES128-GCM-SHA256")
    )
    assert _accepted(report) == {"rsa-key-transport": "TLS_RSA_WITH_AES_128_GCM_SHA256"}
    assert "TLS-SUITE-001" in _codes(report)
    assert "TLS-SUITE-002" not in _codes(report)
    assert "PQC-TLS-001" in _codes(report)


def test_ecdhe_only_has_forward_secrecy_and_no_suite_finding(rsa) -> None:
    report = _check(servers.pyopenssl_handler(*rsa, ciphers="ECDHE-RSA-AES128-GCM-SHA256"))
    assert _accepted(report) == {"ecdhe": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
    assert report.details["forward_secrecy_tls12"] is True
    assert not {c for c in _codes(report) if c.startswith("TLS-SUITE")}
    assert report.subscores["key_exchange"] == 100


def test_dhe_only_has_forward_secrecy(rsa, dh) -> None:
    handler = servers.pyopenssl_handler(*rsa, ciphers="DHE-RSA-AES128-GCM-SHA256", dh_params=dh)
    report = _check(handler)
    assert _accepted(report) == {"dhe": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}
    assert report.details["forward_secrecy_tls12"] is True
    assert not {c for c in _codes(report) if c.startswith("TLS-SUITE")}


@pytest.mark.parametrize("groups", ["X25519:X25519MLKEM768", "X25519"])
def test_a_dhe_only_server_whose_groups_exclude_ffdhe_speaks_tls_1_2(rsa, dh, groups: str) -> None:
    # Offered FFDHE groups it does not have, OpenSSL 4 refuses DHE (RFC 7919); a client that
    # lists none (most do) gets DHE with the configured prime: TLS 1.2 is spoken.
    handler = servers.pyopenssl_handler(
        *rsa, groups=groups, ciphers="DHE-RSA-AES128-GCM-SHA256", dh_params=dh
    )
    report = _check(handler)
    assert report.details["versions"]["TLSv1.2"] is True
    assert _accepted(report) == {"dhe": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}
    assert report.details["forward_secrecy_tls12"] is True
    dh_seen = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert dh_seen["dh_bits"] == 2048


def test_a_dhe_only_tls_1_2_s_server_speaks_tls_1_2(rsa, dh) -> None:
    options = ("-cipher", "DHE-RSA-AES128-GCM-SHA256", "-tls1_2", "-dhparam", str(dh))
    with s_server(*rsa, *options) as port:
        report = run_tls_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.details["versions"] == {
        "TLSv1.3": False,
        "TLSv1.2": True,
        "TLSv1.1": False,
        "TLSv1.0": False,
    }
    assert _accepted(report) == {"dhe": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}


def test_ecdhe_cbc_is_a_low_finding(rsa) -> None:
    report = _check(servers.pyopenssl_handler(*rsa, ciphers="ECDHE-RSA-AES128-SHA"))
    assert _accepted(report) == {
        "ecdhe": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "cbc": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    }
    cbc = next(f for f in report.findings if f.code == "TLS-SUITE-003")
    assert cbc.severity == "low"
    assert {c for c in _codes(report) if c.startswith("TLS-SUITE")} == {"TLS-SUITE-003"}


def test_rsa_cbc_is_both_findings(rsa) -> None:
    report = _check(servers.pyopenssl_handler(*rsa, ciphers="AES128-SHA"))
    assert _accepted(report) == {
        "rsa-key-transport": "TLS_RSA_WITH_AES_128_CBC_SHA",
        "cbc": "TLS_RSA_WITH_AES_128_CBC_SHA",
    }
    assert {c for c in _codes(report) if c.startswith("TLS-SUITE")} == {
        "TLS-SUITE-002",
        "TLS-SUITE-003",
    }


@pytest.mark.parametrize(
    ("ciphers", "suite", "family"),
    [
        ("NULL-SHA", "TLS_RSA_WITH_NULL_SHA", "NULL"),
        ("AECDH-AES128-SHA", "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "anon"),
    ],
)
def test_null_and_anonymous_suites_are_high(rsa, ciphers: str, suite: str, family: str) -> None:
    report = _check(servers.pyopenssl_handler(*rsa, ciphers=ciphers))
    assert _accepted(report)["weak"] == suite
    weak = next(s for s in report.details["tls12_suites"] if s["suite_class"] == "weak")
    assert weak["family"] == family
    broken = next(f for f in report.findings if f.code == "TLS-SUITE-004")
    assert broken.severity == "high"
    assert broken.evidence["family"] == family
