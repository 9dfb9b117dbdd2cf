"""Algorithm names as CBOM tools write them resolve through the algorithm policy: its names and
aliases, OIDs and OID arcs, parameter sets and curves, and names composed of algorithms."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pq_crypto.catalogue import Catalogue, algorithm_index
from pq_crypto.names import Described, resolve
from tests.checks.cbom_cases import (
    CBOMS,
    CYCLONEDX_EXAMPLES,
    HANDWRITTEN,
    assets_by_ref,
    finding_evidence,
    run,
)

PRIVATE_KEY = "3ebe86a3-4373-4c3e-a32b-6b6dc3baee59"
# What no CBOM reader can classify in the real CBOMs, and why: cbomkit writes "PRIVATE KEY" for
# the cipher of an encrypted PKCS#8 key, which Kafka reads from the key file at run time
# (EncryptedPrivateKeyInfo.getAlgName()), and the secret key derived with it depends on it.
GENUINELY_UNKNOWN = {
    "cbomkit_kafka-cbom.json": {
        "PRIVATE KEY": "a PEM label, not an algorithm",
        "secret-key@65c423f4-6a60-4051-8edc-1a5f782fea48": "through PRIVATE KEY",
    },
    **{example: {} for example in CYCLONEDX_EXAMPLES},
}


@pytest.mark.parametrize("fixture", sorted(GENUINELY_UNKNOWN))
def test_real_cboms_leave_unknown_only_what_no_reader_can_classify(fixture: str) -> None:
    report = run(CBOMS / fixture)
    unknown = {a["name"]: a["basis"] for a in report.details["assets"] if a["class"] == "unknown"}
    assert set(unknown) == set(GENUINELY_UNKNOWN[fixture])
    for name, reason in GENUINELY_UNKNOWN[fixture].items():
        assert reason in unknown[name]
    if unknown:
        assert finding_evidence(report, "CBOM-003")["reasons"] == unknown


def test_every_algorithm_and_key_cbomkit_names_in_kafka_is_classified() -> None:
    assets = assets_by_ref(run(CBOMS / "cbomkit_kafka-cbom.json"))
    named = {ref: a for ref, a in assets.items() if ref != PRIVATE_KEY}
    classes = {a["name"]: (a["class"], a["algorithm"]) for a in named.values()}
    assert classes == {
        "SHA256": ("quantum-safe", "SHA-256"),
        "SHA512": ("quantum-safe", "SHA-512"),
        "HMAC-SHA512": ("quantum-safe", "HMAC-SHA512"),
        "DSA": ("classically-broken", "DSA"),
        "RSA-2048": ("quantum-vulnerable", "RSA"),
        "EC": ("quantum-vulnerable", "ECC"),
        "key@ff11be02-d1ac-4887-ae6e-b4e49f2bc41c": ("quantum-vulnerable", "ECC"),
        "key@3e623753-9aac-493b-80ce-21ec2f64de38": ("classically-broken", "DSA"),
        "key@e249f26f-07b8-4e6e-96ae-e0827f1dc6a6": ("quantum-vulnerable", "RSA"),
        "secret-key@65c423f4-6a60-4051-8edc-1a5f782fea48": ("unknown", None),
    }


def test_the_names_cbomkit_writes_for_keycloak_resolve() -> None:
    assets = assets_by_ref(run(HANDWRITTEN / "cbomkit-names.cdx.json"))
    expected = {
        "a-eddsa": ("quantum-vulnerable", "EdDSA"),
        "a-ed25519": ("quantum-vulnerable", "Ed25519"),
        "a-aes128-gcm": ("quantum-safe", "AES-128"),
        "a-aes128-cbc": ("quantum-safe", "AES-128"),
        "a-aes": ("quantum-safe", "AES-128"),  # the OID arc 2.16.840.1.101.3.4.1 and 128
        "a-aes128": ("quantum-safe", "AES-128"),
        "a-hmacsha2": ("quantum-safe", "HMAC-SHA2"),
        "a-hmac-sha256": ("quantum-safe", "HMAC-SHA256"),
        "a-sha1": ("classically-broken", "SHA-1"),
        "a-rsa-1024": ("classically-broken", "RSA"),
        "a-rsa-2048": ("quantum-vulnerable", "RSA"),
        "a-rsassa-pss": ("quantum-vulnerable", "RSA"),
        "a-mgf1": ("quantum-safe", "MGF1"),
        "a-ec": ("quantum-vulnerable", "ECC"),
        "a-ec-p256": ("quantum-vulnerable", "ECDH-P256"),
        "a-ec-p521": ("quantum-vulnerable", "ECDH-P521"),
        "a-ecdh": ("quantum-vulnerable", "ECC"),  # id-ecDH, 1.3.132.1.12
        "a-dsa": ("classically-broken", "DSA"),
        "a-concat-kdf": ("quantum-safe", "ConcatKDF"),
        "a-raw": ("unknown", None),
        # Keys take their algorithm's class through `dependencies`.
        "k-eddsa": ("quantum-vulnerable", "EdDSA"),
        "k-ed25519": ("quantum-vulnerable", "Ed25519"),
        "k-aes128": ("quantum-safe", "AES-128"),
        "k-hmacsha2": ("quantum-safe", "HMAC-SHA2"),
        "k-rsa-2048": ("quantum-vulnerable", "RSA"),
        "k-ec-p521": ("quantum-vulnerable", "ECDH-P521"),
        "k-dsa": ("classically-broken", "DSA"),
        "k-raw": ("unknown", None),
    }
    assert {ref: (assets[ref]["class"], assets[ref]["algorithm"]) for ref in expected} == expected
    assert "1024-bit modulus" in assets["a-rsa-1024"]["basis"]
    assert "a key encoding" in assets["a-raw"]["basis"]
    keys = [a for a in assets.values() if a["asset_type"] == "related-crypto-material"]
    assert sum(a["class"] != "unknown" for a in keys) == len(keys) - 1


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        (Described("AES/GCM/NoPadding", parameter="256"), ("quantum-safe", "AES-256")),
        (Described("sha-256"), ("quantum-safe", "SHA-256")),
        (Described("RSA2048"), ("quantum-vulnerable", "RSA")),
        (Described("RSA", parameter="1024"), ("classically-broken", "RSA")),
        # The parameter set of a hash-with-RSA name is the digest, not the modulus.
        (Described("SHA512withRSA", parameter="512"), ("quantum-vulnerable", "RSA")),
        (Described("SHA256withRSA", parameter="256"), ("quantum-vulnerable", "RSA")),
        (Described("SHA1withECDSA"), ("classically-broken", "ECDSA-SHA1")),
        (Described("PBEWithMD5AndDES"), ("classically-broken", "MD5")),
        (Described("DESede/CBC/PKCS5Padding"), ("classically-broken", "3DES")),
        (Described("EdDSA", curve="Ed448"), ("quantum-vulnerable", "Ed448")),
        (Described("ML-KEM", parameter="768"), ("quantum-safe", "ML-KEM-768")),
        (Described("SLH-DSA", parameter="SHA2-128s"), ("quantum-safe", "SLH-DSA-SHA2-128s")),
        (Described(oid="2.16.840.1.101.3.4.1", parameter="256"), ("quantum-safe", "AES-256")),
        (Described("ECDH", curve="curve25519"), ("quantum-vulnerable", "X25519")),
        # A name that only contains "and" is not a composite of algorithms.
        (Described("SecureRandom"), ("unknown", None)),
        (Described("Camellia-256-GCM", parameter="256"), ("unknown", None)),
    ],
)
def test_a_described_algorithm_resolves(described: Described, expected: tuple) -> None:
    classification = resolve(described)
    assert (str(classification.algorithm_class), classification.algorithm_id) == expected


def test_when_the_oid_and_the_name_disagree_the_worse_is_kept_and_the_basis_says_so() -> None:
    classification = resolve(Described("RSA-1024", oid="1.2.840.113549.1.1.1", parameter="2048"))
    assert str(classification.algorithm_class) == "classically-broken"
    assert "says quantum-vulnerable" in classification.basis


def test_a_family_member_of_another_class_is_refused_when_the_catalogue_is_read() -> None:
    """A family's own entry stands for a member nobody named, so it cannot be safer than one."""
    catalogue = algorithm_index().catalogue.model_dump(by_alias=True)
    catalogue["families"] = [{"algorithm": "ECC", "curves": {"secp256r1": "ML-KEM-768"}}]
    with pytest.raises(ValidationError, match="ML-KEM-768 is quantum-safe"):
        Catalogue.model_validate(catalogue)
