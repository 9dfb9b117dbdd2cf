"""The pq_crypto layer: KEMs and signatures through one interface, the catalogue, attestations."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pq_crypto import backend_oqs, registry
from pq_crypto.attestation import load_or_create_keys, sign_bytes, verify_bytes
from pq_crypto.catalogue import AlgorithmClass, algorithm_index, rsa_classification
from pq_crypto.interface import UnsupportedAlgorithm

OQS_MISSING = backend_oqs.unavailable_reason()


@pytest.mark.parametrize("name", ["ML-KEM-768", "ML-KEM-1024"])
def test_kem_round_trip_on_the_default_backend(name: str) -> None:
    kem = registry.kem(name, backend="cryptography")
    pair = kem.generate_keypair()
    sealed = kem.encapsulate(pair.public_key)
    assert kem.decapsulate(pair.secret_key, sealed.ciphertext) == sealed.shared_secret
    other = kem.generate_keypair()
    assert kem.decapsulate(other.secret_key, sealed.ciphertext) != sealed.shared_secret


@pytest.mark.parametrize("name", ["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"])
def test_signatures_verify_only_for_the_signed_message(name: str) -> None:
    signer = registry.signature(name, backend="cryptography")
    pair = signer.generate_keypair()
    signed = signer.sign(pair.secret_key, b"attested report")
    assert signer.verify(pair.public_key, b"attested report", signed)
    assert not signer.verify(pair.public_key, b"attested report!", signed)
    assert not signer.verify(signer.generate_keypair().public_key, b"attested report", signed)


def test_an_unknown_algorithm_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="Rainbow"):
        registry.signature("Rainbow-III")


def test_liboqs_is_detected_without_importing_it() -> None:
    import sys

    backend_oqs.unavailable_reason()
    if OQS_MISSING:
        assert "oqs" not in sys.modules
        assert registry.available_kems().keys() == {"ML-KEM-768", "ML-KEM-1024"}


@pytest.mark.skipif(OQS_MISSING is not None, reason=f"liboqs backend unavailable: {OQS_MISSING}")
def test_interop_sign_with_liboqs_verify_with_cryptography() -> None:
    oqs_signer = registry.signature("ML-DSA-65", backend="liboqs")
    pair = oqs_signer.generate_keypair()
    signed = oqs_signer.sign(pair.secret_key, b"interop")
    assert registry.signature("ML-DSA-65", backend="cryptography").verify(
        pair.public_key, b"interop", signed
    )


@pytest.mark.skipif(OQS_MISSING is not None, reason=f"liboqs backend unavailable: {OQS_MISSING}")
def test_interop_encapsulate_with_cryptography_decapsulate_with_liboqs() -> None:
    oqs_kem = registry.kem("ML-KEM-768", backend="liboqs")
    pair = oqs_kem.generate_keypair()
    sealed = registry.kem("ML-KEM-768", backend="cryptography").encapsulate(pair.public_key)
    assert oqs_kem.decapsulate(pair.secret_key, sealed.ciphertext) == sealed.shared_secret


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        (lambda i: i.tls_group(0x11EC), AlgorithmClass.HYBRID),
        (lambda i: i.tls_group(0x0201), AlgorithmClass.QUANTUM_SAFE),
        (lambda i: i.tls_group(0x001D), AlgorithmClass.QUANTUM_VULNERABLE),
        (lambda i: i.ssh("sntrup761x25519-sha512@openssh.com"), AlgorithmClass.HYBRID),
        (lambda i: i.ssh("diffie-hellman-group1-sha1"), AlgorithmClass.CLASSICALLY_BROKEN),
        (lambda i: i.oid("2.16.840.1.101.3.4.3.18"), AlgorithmClass.QUANTUM_SAFE),
        (lambda i: i.jose("ES256"), AlgorithmClass.QUANTUM_VULNERABLE),
        (lambda i: i.name("md5"), AlgorithmClass.CLASSICALLY_BROKEN),
        (lambda i: i.name("Blowfish-9000"), AlgorithmClass.UNKNOWN),
    ],
)
def test_the_catalogue_classifies_by_every_identifier(lookup, expected) -> None:
    assert lookup(algorithm_index()).algorithm_class is expected


def test_the_obsolete_kyber_draft_is_marked() -> None:
    assert algorithm_index().tls_group(0x6399).obsolete


def test_deadlines_follow_key_strength() -> None:
    index = algorithm_index()
    rsa2048 = {d.id for d in index.deadlines_for(rsa_classification(2048), "signature")}
    rsa3072 = {d.id for d in index.deadlines_for(rsa_classification(3072), "signature")}
    assert "nist-112-deprecated" in rsa2048
    assert "nist-112-deprecated" not in rsa3072
    assert "nist-rsa-ecc-disallowed" in rsa3072
    assert rsa_classification(1024).algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN


def test_every_catalogue_entry_names_a_known_source() -> None:
    catalogue = algorithm_index().catalogue
    assert {a.source for a in catalogue.algorithms} <= set(catalogue.sources)
    assert [m.id for m in catalogue.milestones] == ["ncsc-2028", "ncsc-2031", "ncsc-2035"]


@pytest.fixture
def keys(tmp_path: Path):
    return load_or_create_keys(tmp_path / "keys")


def test_an_attestation_verifies_offline(keys) -> None:
    bundle = sign_bytes(b'{"score": 91}', "report.json", keys)
    result = verify_bytes(b'{"score": 91}', bundle)
    assert result.valid
    assert result.key_fingerprint == keys.fingerprint


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda b: b.update(sha256="0" * 64), "does not match"),
        (lambda b: b["ed25519"].update(signature=b["ml_dsa_65"]["signature"][:88]), "Ed25519"),
        (
            lambda b: b["ml_dsa_65"].update(
                signature=b["ml_dsa_65"]["signature"][:-8] + "AAAAAAA="
            ),
            "ML-DSA-65",
        ),
        (lambda b: b.update(signed_at="2020-01-01T00:00:00+00:00"), "Ed25519"),
        (lambda b: b.update(scheme="rsa-only"), "unknown scheme"),
        (lambda b: b.pop("ml_dsa_65"), "malformed"),
    ],
    ids=["other-file", "ed25519-signature", "mldsa-signature", "statement", "scheme", "missing"],
)
def test_any_tampering_fails_verification(keys, tamper, reason: str) -> None:
    bundle = copy.deepcopy(sign_bytes(b"report", "report.json", keys))
    tamper(bundle)
    result = verify_bytes(b"report", bundle)
    assert not result.valid
    assert reason in result.reason


def test_a_signature_cannot_be_swapped_for_one_from_other_keys(keys, tmp_path: Path) -> None:
    bundle = sign_bytes(b"report", "report.json", keys)
    other = sign_bytes(b"report", "report.json", load_or_create_keys(tmp_path / "other"))
    bundle["ml_dsa_65"] = other["ml_dsa_65"]
    result = verify_bytes(b"report", bundle)
    assert not result.valid
    assert "Ed25519" in result.reason
