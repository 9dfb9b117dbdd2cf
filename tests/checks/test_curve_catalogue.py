"""Elliptic curves have one table, the catalogue's (pq_crypto/data/algorithms.yaml): certificates,
JSON Web Keys and CBOM exports read it, every curve `cryptography` can make either resolves
through it or is called an unknown curve, and a table that contradicts itself is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from checks.cbom import run_cbom_check
from checks.jwk_material import ec_algorithms, ec_curves
from checks.jwks import run_jwks_check
from checks.public_keys import classify_key
from pq_crypto.catalogue import AlgorithmClass, Catalogue, algorithm_index
from tests.peers.jwks import key_set, real_jwk

# The curves the checks have named in code before (certificate keys, JWK crv, CBOM exports), as
# `cryptography` names them, with the JWK crv of RFC 7518 and RFC 8812.
NAMED_IN_CODE = {
    ec.SECP256R1: "P-256",
    ec.SECP384R1: "P-384",
    ec.SECP521R1: "P-521",
    ec.SECP256K1: "secp256k1",
}


@pytest.mark.parametrize("curve_type", list(NAMED_IN_CODE), ids=lambda c: c.name)
def test_each_curve_the_checks_name_resolves_through_the_catalogue(
    curve_type: type[ec.EllipticCurve],
) -> None:
    index = algorithm_index()
    curve = index.curve(curve_type.name)
    assert curve is not None
    assert curve.name == curve_type.name
    assert curve.bits == curve_type.key_size
    # Its OID is the one `cryptography` reads from a certificate, in both directions.
    assert ec.get_curve_for_oid(x509.ObjectIdentifier(curve.oid)) is curve_type
    assert index.curve_by_oid(curve.oid) is curve
    assert curve.jose_crv == NAMED_IN_CODE[curve_type]
    assert index.curve(curve.jose_crv) is curve
    signature = index.get(curve.signature)
    assert (signature.usage, signature.algorithm_class) == ("signature", "quantum-vulnerable")
    # What the JWK reader derives: the curve it loads, coordinates in whole bytes, and the alg
    # defined for the curve.
    assert ec_curves()[curve.jose_crv] == (curve_type, (curve_type.key_size + 7) // 8)
    assert {alg for alg, crv in ec_algorithms().items() if crv == curve.jose_crv} == set(
        signature.jose_algs
    )
    key = ec.generate_private_key(curve_type()).public_key()
    assert classify_key(key).classification.algorithm_id == curve.signature


def test_every_catalogue_curve_is_one_cryptography_can_read() -> None:
    for curve in algorithm_index().curves():
        assert ec.get_curve_for_oid(x509.ObjectIdentifier(curve.oid)).name == curve.name


@pytest.mark.parametrize(
    "curve_type", ec.EllipticCurve.__subclasses__(), ids=lambda c: getattr(c, "name", c.__name__)
)
def test_every_curve_cryptography_makes_is_catalogued_or_called_unknown(
    curve_type: type[ec.EllipticCurve],
) -> None:
    """No curve is credited from its size alone: a key on one resolves through the catalogue,
    or is too small to be anything but broken, or is an unknown curve."""
    try:
        key = ec.generate_private_key(curve_type()).public_key()
    except Exception as exc:
        pytest.skip(f"this OpenSSL build cannot make keys on {curve_type.__name__}: {exc}")
    classification = classify_key(key).classification
    curve = algorithm_index().curve(curve_type.name)
    if curve is not None:
        assert classification.algorithm_id == curve.signature
    elif curve_type.key_size < 224:
        assert classification.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    else:
        assert classification.algorithm_class is AlgorithmClass.UNKNOWN
        assert classification.basis.startswith(f"unknown curve {curve_type.name} ")


def _with_curves(*curves: dict[str, Any], families: Any = None) -> dict[str, Any]:
    catalogue = algorithm_index().catalogue.model_dump(by_alias=True)
    catalogue["curves"] = list(curves)
    if families is not None:
        catalogue["families"] = families
    return catalogue


P256 = {
    "name": "secp256r1",
    "oid": "1.2.840.10045.3.1.7",
    "jose_crv": "P-256",
    "bits": 256,
    "signature": "ECDSA-P256",
    "key_agreement": "ECDH-P256",
}


@pytest.mark.parametrize(
    ("catalogue", "refused"),
    [
        (_with_curves({**P256, "signature": "ECDSA-P999"}), "no algorithm ECDSA-P999"),
        (_with_curves({**P256, "signature": "ML-KEM-768"}), "ML-KEM-768 is not a signature"),
        (_with_curves({**P256, "key_agreement": "ECDSA-P384"}), "is not a key-agreement"),
        (_with_curves({**P256, "oid": "1.3.132.0.34"}), "its OID 1.3.132.0.34 is ECDH-P384's"),
        (
            _with_curves(P256, {**P256, "name": "prime256v1", "signature": "ECDSA-P384"}),
            "names both curve secp256r1 and prime256v1",
        ),
        (
            _with_curves(
                P256,
                families=[{"algorithm": "ECC", "curves": {"P-256": "ECDH-P384"}}],
            ),
            "curve P-256 is ECDH-P384",
        ),
    ],
    ids=["no such algorithm", "kem", "usage", "oid of another", "two curves", "family"],
)
def test_a_curve_table_that_contradicts_the_catalogue_is_refused(
    catalogue: dict[str, Any], refused: str
) -> None:
    with pytest.raises(ValidationError, match=refused):
        Catalogue.model_validate(catalogue)


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ({**real_jwk("ecdsa"), "crv": "P-999", "alg": None}, "curve 'P-999'"),
        ({**real_jwk("ecdsa"), "crv": "p-256", "alg": None}, "curve 'p-256'"),  # crv is exact
        ({**real_jwk("ecdsa"), "crv": ["P-256"], "alg": None}, "curve ['P-256']"),
    ],
)
def test_a_jwk_on_a_curve_the_catalogue_lacks_is_unknown_with_a_finding(
    key: dict[str, Any], named: str
) -> None:
    report = run_jwks_check(key_set(key), "jwks.json")
    [entry] = report.details["keys"]
    assert (entry["class"], entry["algorithm"]) == ("unknown", None)
    assert named in entry["basis"]
    assert {f.code for f in report.findings} == {"JWKS-004"}


def test_a_jwk_claiming_es256_on_an_unknown_curve_is_malformed() -> None:
    report = run_jwks_check(key_set({**real_jwk("ecdsa"), "crv": "P-999"}), "jwks.json")
    [entry] = report.details["keys"]
    assert "defined for P-256, not 'P-999'" in entry["problem"]
    assert "JWKS-007" in {f.code for f in report.findings}


def _cbom_with_key_on(curve: str, name: str, oid: str | None) -> bytes:
    algorithm: dict[str, Any] = {
        "type": "cryptographic-asset",
        "bom-ref": "algorithm:ec",
        "name": name,
        "cryptoProperties": {
            "assetType": "algorithm",
            "algorithmProperties": {"primitive": "signature", "curve": curve},
        },
    }
    if oid:
        algorithm["cryptoProperties"]["oid"] = oid
    key = {
        "type": "cryptographic-asset",
        "bom-ref": "key:ec",
        "name": "service key",
        "cryptoProperties": {
            "assetType": "related-crypto-material",
            "relatedCryptoMaterialProperties": {
                "type": "public-key",
                "algorithmRef": "algorithm:ec",
            },
        },
    }
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [algorithm, key],
        }
    ).encode()


@pytest.mark.parametrize(
    ("curve", "name", "oid"),
    [
        ("P-999", "EC", None),
        ("brainpoolP256r1", "EC", "1.2.840.10045.2.1"),
        ("x" * 5000, "ECDSA", None),
        ("", "EC-P-999", None),
    ],
)
def test_a_cbom_key_on_a_curve_the_catalogue_lacks_is_never_credited(
    curve: str, name: str, oid: str | None
) -> None:
    report = run_cbom_check(_cbom_with_key_on(curve, name, oid), "unknown-curve.cbom.json")
    assets = {asset["bom_ref"]: asset for asset in report.details["assets"]}
    assert set(assets) == {"algorithm:ec", "key:ec"}
    for asset in assets.values():
        assert asset["class"] not in ("quantum-safe", "hybrid"), asset
