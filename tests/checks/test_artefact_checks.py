"""Checks of artefacts: certificate files, JWKS (including ML-DSA AKP keys) and CBOMs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from checks.cbom import run_cbom_check
from checks.cbom_export import build_cbom
from checks.certificate_file import run_certificate_check
from checks.jwks import run_jwks_check
from checks.report import ReportStatus
from pq_crypto.registry import signature
from tests.peers.certificates import make_certificate

CBOMS = Path(__file__).resolve().parents[1] / "data" / "cbom"


def _codes(report) -> set[str]:
    return {f.code for f in report.findings}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _rsa_jwk(bits: int) -> dict:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    n = numbers.public_numbers().n
    return {
        "kty": "RSA",
        "kid": f"rsa{bits}",
        "alg": "RS256",
        "n": _b64(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        "e": "AQAB",
    }


def _mldsa_jwk() -> dict:
    public = signature("ML-DSA-65").generate_keypair().public_key
    return {"kty": "AKP", "kid": "pq-1", "alg": "ML-DSA-65", "pub": _b64(public)}


def _ec_jwk() -> dict:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": "ec-1",
        "crv": "P-256",
        "x": _b64(point.x.to_bytes(32, "big")),
        "y": _b64(point.y.to_bytes(32, "big")),
    }


def test_jwks_with_an_ml_dsa_key_is_seen_as_post_quantum() -> None:
    raw = json.dumps({"keys": [_rsa_jwk(2048), _ec_jwk(), _mldsa_jwk()]}).encode()
    report = run_jwks_check(raw, "jwks.json")
    by_kid = {key["kid"]: key for key in report.details["keys"]}
    assert by_kid["pq-1"]["class"] == "quantum-safe"
    assert by_kid["pq-1"]["algorithm"] == "ML-DSA-65"
    assert by_kid["rsa2048"]["class"] == "quantum-vulnerable"
    assert by_kid["ec-1"]["algorithm"] == "ECDSA-P256"
    assert "JWKS-003" in _codes(report)
    assert "JWKS-001" not in _codes(report)


def test_jwks_of_classical_keys_only_is_flagged() -> None:
    raw = json.dumps({"keys": [_rsa_jwk(3072), _ec_jwk()]}).encode()
    report = run_jwks_check(raw, "jwks.json")
    assert "JWKS-001" in _codes(report)
    assert report.subscores["signatures_and_certificates"] == 50


def test_a_short_rsa_key_and_an_unknown_key_are_reported() -> None:
    raw = json.dumps({"keys": [_rsa_jwk(1024), {"kty": "XYZ", "kid": "odd"}]}).encode()
    report = run_jwks_check(raw, "jwks.json")
    assert {"JWKS-002", "JWKS-004"} <= _codes(report)


@pytest.mark.parametrize("raw", [b"not json", b'{"keys": 5}', b"[]", b'{"keys": ["x"]}'])
def test_an_unreadable_jwks_is_not_assessable(raw: bytes) -> None:
    report = run_jwks_check(raw, "bad.json")
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert _codes(report) == {"JWKS-005"}


def test_certificate_files_in_pem_and_der(tmp_path: Path) -> None:
    cert_path, _ = make_certificate(tmp_path, "mldsa65")
    pem = cert_path.read_bytes()
    from cryptography import x509

    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    for raw in (pem, der):
        report = run_certificate_check(raw, "cert")
        assert report.details["certificates"][0]["key_type"] == "ML-DSA-65"
        assert "CERT-005" in _codes(report)


def test_an_expired_classical_certificate_scores_zero(tmp_path: Path) -> None:
    cert_path, _ = make_certificate(tmp_path, "rsa2048", expired=True)
    report = run_certificate_check(cert_path.read_bytes(), "old.pem")
    assert "CERT-001" in _codes(report)
    assert report.score == 0


def test_garbage_is_not_a_certificate() -> None:
    report = run_certificate_check(
        b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----", "bad.pem"
    )
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert _codes(report) == {"CERT-006"}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("CBOM_Algorithm_bom.json", {"quantum-safe": 1, "quantum-vulnerable": 1}),
        ("CBOM_Key_bom.json", {"quantum-safe": 1, "quantum-vulnerable": 2}),
        (
            "cbomkit_kafka-cbom.json",
            {"quantum-safe": 3, "quantum-vulnerable": 4, "classically-broken": 2, "unknown": 2},
        ),
    ],
)
def test_cbom_assets_are_classified(fixture: str, expected: dict[str, int]) -> None:
    report = run_cbom_check((CBOMS / fixture).read_bytes(), fixture)
    assert report.status is ReportStatus.COMPLETED
    assert report.details["counts"] == expected


def test_the_catalogue_decides_and_a_documents_claim_is_only_compared() -> None:
    """Known algorithms are classified by OID or name from the catalogue; a CBOM's own security
    level never overrides it, and is recorded as agreeing (or not) with the catalogue."""
    report = run_cbom_check((CBOMS / "cbomkit_kafka-cbom.json").read_bytes(), "kafka")
    by_name = {a["name"]: a for a in report.details["assets"]}
    assert by_name["SHA256"]["basis"].startswith("OID")
    assert by_name["DSA"]["class"] == "classically-broken"
    assert by_name["DSA"]["basis"].startswith("OID")
    algorithm = run_cbom_check((CBOMS / "CBOM_Algorithm_bom.json").read_bytes(), "alg")
    assert {a["basis"].split()[0] for a in algorithm.details["assets"]} == {"OID"}
    assert {a["claim"] for a in algorithm.details["assets"]} == {"agrees"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "not JSON"),
        (b'{"bomFormat": "SPDX"}', "not a CycloneDX"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.4"}', "1.4 is not supported"),
        (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "x"}]}',
            "schema",
        ),
    ],
)
def test_invalid_cboms_are_refused_with_the_reason(raw: bytes, message: str) -> None:
    report = run_cbom_check(raw, "bad.json")
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert message in report.findings[0].evidence["detail"]


def test_exported_cbom_is_valid_and_reimports(tmp_path: Path) -> None:
    raw = json.dumps({"keys": [_rsa_jwk(2048), _mldsa_jwk()]}).encode()
    document = build_cbom([run_jwks_check(raw, "jwks.json")], "identity service")
    assert document["specVersion"] == "1.6"
    report = run_cbom_check(json.dumps(document).encode(), "exported")
    assert report.status is ReportStatus.COMPLETED
    assert report.details["counts"]["quantum-safe"] >= 1
