"""The certificate check on real certificate files: every signature algorithm and key a CA
has used, from MD5 and SHA-1 (made by OpenSSL, as `cryptography` refuses to sign over them)
through DSA, RSA, the ECDSA curves and EdDSA to ML-DSA, ML-KEM and SLH-DSA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import SignatureAlgorithmOID

from checks.certificate_file import run_certificate_check
from checks.public_keys import classify_key
from checks.report import CheckReport
from pq_crypto.catalogue import AlgorithmClass, algorithm_index
from tests.peers.certificates import generate_key, issue
from tests.peers.legacy_certificates import (
    off_curve_p256_certificate,
    openssl_certificate,
    slh_dsa_certificate,
    unsigned_certificate,
)

BROKEN, VULNERABLE, SAFE = "classically-broken", "quantum-vulnerable", "quantum-safe"


def _check(certificate: x509.Certificate) -> tuple[CheckReport, dict[str, Any]]:
    report = run_certificate_check(certificate.public_bytes(serialization.Encoding.PEM), "c.pem")
    return report, report.details["certificates"][0]


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


@pytest.mark.parametrize(
    ("key_kind", "digest", "options", "name"),
    [
        ("rsa2048", "md5", (), "md5WithRSAEncryption"),
        ("rsa2048", "sha1", (), "sha1WithRSAEncryption"),
        ("ecdsa", "sha1", (), "ecdsa-with-SHA1"),
        ("dsa2048", "sha1", (), "dsa-with-sha1"),
        # The OID says only "RSASSA-PSS"; the hash is in its parameters.
        ("rsa2048", "sha1", ("-sigopt", "rsa_padding_mode:pss"), "rsassaPss"),
    ],
)
def test_a_signature_over_md5_or_sha1_is_broken(
    tmp_path: Path, key_kind: str, digest: str, options: tuple[str, ...], name: str
) -> None:
    report, seen = _check(openssl_certificate(tmp_path, key_kind, digest, *options))
    assert (seen["signature_algorithm"], seen["signature_class"]) == (name, BROKEN)
    assert "CERT-003" in _codes(report)
    assert not {"CERT-004", "CERT-008"} & _codes(report)
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_dsa_signature_over_sha256_is_broken_because_dsa_is() -> None:
    report, seen = _check(issue(generate_key("dsa2048")))
    assert seen["signature_algorithm"] == "dsa-with-sha256"
    assert (seen["key_type"], seen["key_class"], seen["signature_class"]) == ("DSA", BROKEN, BROKEN)
    assert "CERT-003" in _codes(report)


@pytest.mark.parametrize(
    ("key_kind", "algorithm", "signature_oid", "security"),
    [
        ("rsa2048", hashes.SHA224(), "1.2.840.113549.1.1.14", 112),
        ("rsa2048", hashes.SHA3_256(), "2.16.840.1.101.3.4.3.14", 112),
        ("ecdsa", hashes.SHA224(), "1.2.840.10045.4.3.1", 128),
        ("ecdsa", hashes.SHA3_256(), "2.16.840.1.101.3.4.3.10", 128),
        ("p384", hashes.SHA3_384(), "2.16.840.1.101.3.4.3.11", 192),
    ],
)
def test_sha224_and_sha3_signatures_are_known_and_quantum_vulnerable(
    key_kind: str, algorithm: hashes.HashAlgorithm, signature_oid: str, security: int
) -> None:
    report, seen = _check(issue(generate_key(key_kind), algorithm=algorithm))
    assert (seen["signature_oid"], seen["signature_class"]) == (signature_oid, VULNERABLE)
    assert seen["signature_algorithm"] != "Unknown OID"
    assert seen["key_security_bits"] == security
    assert _codes(report) & {"CERT-003", "CERT-004", "CERT-008"} == {"CERT-004"}


@pytest.mark.parametrize(
    ("key_kind", "key_type", "bits", "security", "key_class", "code"),
    [
        ("rsa1024", "RSA", 1024, 80, BROKEN, "CERT-003"),
        ("rsa3072", "RSA", 3072, 128, VULNERABLE, "CERT-004"),
        ("p192", "EC secp192r1", 192, 96, BROKEN, "CERT-003"),
        ("p224", "EC secp224r1", 224, 112, VULNERABLE, "CERT-004"),
        ("secp256k1", "EC secp256k1", 256, 128, VULNERABLE, "CERT-004"),
        ("p521", "EC secp521r1", 521, 256, VULNERABLE, "CERT-004"),
        ("ed25519", "Ed25519", 256, 128, VULNERABLE, "CERT-004"),
        ("ed448", "Ed448", 448, 224, VULNERABLE, "CERT-004"),
    ],
)
def test_classical_keys_by_type_and_size(
    key_kind: str, key_type: str, bits: int, security: int, key_class: str, code: str
) -> None:
    report, seen = _check(issue(generate_key(key_kind)))
    assert (seen["key_type"], seen["key_bits"], seen["key_security_bits"]) == (
        key_type,
        bits,
        security,
    )
    assert seen["key_class"] == key_class
    assert _codes(report) & {"CERT-003", "CERT-004", "CERT-005", "CERT-008"} == {code}


def test_a_key_on_a_curve_the_catalogue_lacks_is_an_unknown_curve_not_a_guess() -> None:
    """Before: brainpoolP256r1 was credited 128 bits and quantum-vulnerable from its size alone;
    a 256-bit curve may still be weak, so only the catalogue vouches for a curve."""
    report, seen = _check(issue(generate_key("brainpoolP256r1")))
    assert (seen["key_type"], seen["key_bits"]) == ("EC brainpoolP256r1", 256)
    assert (seen["key_class"], seen["key_security_bits"]) == ("unknown", None)
    # Its ECDSA signature is still quantum-vulnerable; the key is what the policy cannot judge.
    assert _codes(report) & {"CERT-003", "CERT-004", "CERT-005", "CERT-008"} == {
        "CERT-004",
        "CERT-008",
    }
    assert classify_key(generate_key("brainpoolP256r1").public_key()).classification.basis == (
        "unknown curve brainpoolP256r1 (256-bit): not in the algorithm catalogue"
    )


@pytest.mark.parametrize("size", [44, 65, 87])
def test_ml_dsa_certificates_are_post_quantum(size: int) -> None:
    report, seen = _check(issue(generate_key(f"mldsa{size}")))
    assert (seen["key_type"], seen["key_class"]) == (f"ML-DSA-{size}", SAFE)
    assert (seen["signature_algorithm"], seen["signature_class"]) == (f"ML-DSA-{size}", SAFE)
    assert "CERT-005" in _codes(report)
    assert report.score == 100


def test_an_ml_kem_key_certified_by_ml_dsa_is_post_quantum() -> None:
    certificate = issue(generate_key("mlkem768"), issuer_key=generate_key("mldsa65"))
    report, seen = _check(certificate)
    assert (seen["key_type"], seen["key_class"]) == ("ML-KEM-768", SAFE)
    assert "CERT-005" in _codes(report)


def test_an_slh_dsa_key_the_library_cannot_load_is_classified_by_its_oid() -> None:
    report, seen = _check(slh_dsa_certificate())
    assert (seen["key_type"], seen["key_class"]) == ("SLH-DSA-SHA2-128s", SAFE)
    assert seen["key_oid"] == "2.16.840.1.101.3.4.3.20"
    assert "CERT-005" in _codes(report)


def test_a_certificate_whose_key_does_not_load_is_broken_not_classified_by_its_oid() -> None:
    report, seen = _check(off_curve_p256_certificate())
    assert (seen["key_type"], seen["key_class"]) == ("id-ecPublicKey (malformed)", BROKEN)
    assert "CERT-003" in _codes(report)


def test_an_unsigned_certificate_is_named_and_not_called_quantum_vulnerable() -> None:
    report, seen = _check(unsigned_certificate(generate_key("mldsa65")))
    assert seen["signature_oid"] == SignatureAlgorithmOID.UNSIGNED.dotted_string
    assert seen["signature_class"] == "unknown"
    assert _codes(report) & {"CERT-004", "CERT-005", "CERT-008"} == {"CERT-008"}


def test_every_signature_algorithm_cryptography_names_is_in_the_policy() -> None:
    index = algorithm_index()
    unknown = [
        name
        for name, oid in vars(SignatureAlgorithmOID).items()
        if isinstance(oid, x509.ObjectIdentifier)
        and oid != SignatureAlgorithmOID.UNSIGNED
        and index.oid(oid.dotted_string).algorithm_class is AlgorithmClass.UNKNOWN
    ]
    assert unknown == []
    broken = {
        name
        for name, oid in vars(SignatureAlgorithmOID).items()
        if isinstance(oid, x509.ObjectIdentifier)
        and index.oid(oid.dotted_string).algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    }
    assert {"RSA_WITH_MD5", "RSA_WITH_SHA1", "ECDSA_WITH_SHA1", "DSA_WITH_SHA256"} <= broken
    # Broken for its hash (MD5, SHA-1) or its family (DSA), never otherwise.
    assert all("MD5" in n or "SHA1" in n or n.startswith("DSA") for n in broken), broken
