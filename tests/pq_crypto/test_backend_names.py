"""Catalogue names map to liboqs mechanisms as data, and a secret key made by one backend is
refused by the other with an error that says whose key it is."""

from __future__ import annotations

import pytest

from pq_crypto import backend_oqs, registry
from pq_crypto.backend_names import (
    backend_data,
    liboqs_algorithms,
    liboqs_mapping,
    missing_from_liboqs,
)
from pq_crypto.catalogue import AlgorithmClass, algorithm_index
from pq_crypto.interface import SecretKeyFormatError

OQS_MISSING = backend_oqs.unavailable_reason()
# Mechanism names as liboqs 0.16.0 enables them (OQS_SIG_alg_* / OQS_KEM_alg_* identifiers).
LIBOQS_0_16_SIGNATURES = ["ML-DSA-65", "SLH_DSA_PURE_SHA2_128F", "Falcon-512", "MAYO-1"]
OLD_LIBOQS_SIGNATURES = ["Dilithium3", "SPHINCS+-SHA2-128f-simple", "Falcon-512"]


def test_every_post_quantum_kem_and_signature_in_the_catalogue_has_a_liboqs_name() -> None:
    usage_of = {"kem": "kems", "signature": "signatures"}
    catalogue = algorithm_index().catalogue
    # A family's own entry ("ML-KEM" with no size) names no parameter set to compute with.
    families = {family.algorithm for family in getattr(catalogue, "families", [])}
    for algorithm in catalogue.algorithms:
        if algorithm.id in families or algorithm.usage not in usage_of:
            continue
        if algorithm.algorithm_class is AlgorithmClass.QUANTUM_SAFE:
            assert algorithm.id in liboqs_mapping(usage_of[algorithm.usage]), algorithm.id


@pytest.mark.parametrize("usage", ["kems", "signatures"])
def test_every_mapped_name_is_a_catalogue_algorithm_of_that_use(usage: str) -> None:
    expected = {"kems": "kem", "signatures": "signature"}[usage]
    for name in liboqs_mapping(usage):  # type: ignore[arg-type]
        assert algorithm_index().get(name).usage == expected


def test_liboqs_mechanisms_are_offered_under_catalogue_names() -> None:
    assert liboqs_algorithms("signatures", LIBOQS_0_16_SIGNATURES) == {
        "ML-DSA-65": "ML-DSA-65",
        "SLH-DSA-SHA2-128f": "SLH_DSA_PURE_SHA2_128F",
        "FN-DSA-512": "Falcon-512",
        "MAYO-1": "MAYO-1",  # not in the catalogue: kept under liboqs's name
    }


def test_a_pre_standard_scheme_never_stands_in_for_the_standard() -> None:
    offered = liboqs_algorithms("signatures", OLD_LIBOQS_SIGNATURES)
    assert "SLH-DSA-SHA2-128f" not in offered
    assert "ML-DSA-65" not in offered
    assert offered["SPHINCS+-SHA2-128f-simple"] == "SPHINCS+-SHA2-128f-simple"
    reason = missing_from_liboqs("signatures", "SLH-DSA-SHA2-128f", OLD_LIBOQS_SIGNATURES)
    assert reason is not None
    assert "does not enable SLH_DSA_PURE_SHA2_128F" in reason
    assert "offers SPHINCS+-SHA2-128f-simple, the pre-standard scheme" in reason


@pytest.mark.parametrize(
    ("name", "liboqs_form"), [("ML-DSA-65", 4032), ("ML-DSA-44", 2560), ("ML-DSA-87", 4896)]
)
def test_cryptography_refuses_an_expanded_ml_dsa_key_naming_liboqs(
    name: str, liboqs_form: int
) -> None:
    signer = registry.signature(name, backend="cryptography")
    with pytest.raises(SecretKeyFormatError) as refused:
        signer.sign(bytes(liboqs_form), b"report")
    message = str(refused.value)
    assert f"{liboqs_form} bytes: the expanded form that the liboqs backend makes" in message
    assert "takes the 32-byte seed form" in message
    assert "cannot be used by the other" in message


def test_cryptography_refuses_an_expanded_ml_kem_key_naming_liboqs() -> None:
    kem = registry.kem("ML-KEM-768", backend="cryptography")
    sealed = kem.encapsulate(kem.generate_keypair().public_key)
    with pytest.raises(SecretKeyFormatError, match="2400 bytes: the expanded form"):
        kem.decapsulate(bytes(2400), sealed.ciphertext)


def test_a_truncated_key_is_refused_with_the_length_expected() -> None:
    pair = registry.signature("ML-DSA-65", backend="cryptography").generate_keypair()
    with pytest.raises(SecretKeyFormatError, match="takes a 32-byte ML-DSA-65 secret key"):
        registry.signature("ML-DSA-65", backend="cryptography").sign(pair.secret_key[:31], b"x")


@pytest.mark.parametrize("name", ["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"])
def test_the_seed_lengths_in_the_data_are_what_cryptography_makes(name: str) -> None:
    pair = registry.signature(name, backend="cryptography").generate_keypair()
    assert len(pair.secret_key) == backend_data().secret_key_bytes[name].seed


@pytest.mark.skipif(OQS_MISSING is not None, reason=f"no loadable liboqs here: {OQS_MISSING}")
@pytest.mark.parametrize("name", ["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"])
def test_liboqs_refuses_a_cryptography_seed_and_its_keys_match_the_data(name: str) -> None:
    ours = registry.signature(name, backend="liboqs")
    pair = ours.generate_keypair()
    assert len(pair.secret_key) == backend_data().secret_key_bytes[name].expanded
    seed = registry.signature(name, backend="cryptography").generate_keypair().secret_key
    with pytest.raises(SecretKeyFormatError, match="the seed form that the cryptography backend"):
        ours.sign(seed, b"report")


@pytest.mark.skipif(OQS_MISSING is not None, reason=f"no loadable liboqs here: {OQS_MISSING}")
@pytest.mark.parametrize("name", ["SLH-DSA-SHA2-128f", "FN-DSA-512"])
def test_liboqs_signs_under_the_catalogue_name(name: str) -> None:
    try:
        signer = registry.signature(name, backend="liboqs")
    except ValueError as exc:
        pytest.skip(f"this liboqs build lacks it: {exc}")
    pair = signer.generate_keypair()
    signed = signer.sign(pair.secret_key, b"report")
    assert signer.verify(pair.public_key, b"report", signed)
    assert not signer.verify(pair.public_key, b"report!", signed)
