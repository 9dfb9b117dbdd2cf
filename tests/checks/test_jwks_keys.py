"""The JWKS check on key sets written from real keys, and on the hostile variants of them a
careless or malicious publisher serves: private members, a garbage modulus, points off the curve,
keys of the wrong length. A key is loaded before its algorithm is believed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from checks.catalogue.jwks import JwksResult
from checks.jwk_material import edwards_point_decodes
from checks.jwks import run_jwks_check
from checks.report import CheckReport
from tests.peers.jwks import b64, key_set, real_jwk, secret_jwk, uint

SAFE, VULNERABLE, BROKEN, UNKNOWN = (
    "quantum-safe",
    "quantum-vulnerable",
    "classically-broken",
    "unknown",
)


def _check(*keys: dict[str, Any]) -> CheckReport:
    return run_jwks_check(key_set(*keys), "jwks.json")


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _key(report: CheckReport, position: int = 0) -> dict[str, Any]:
    return report.details["keys"][position]


@pytest.mark.parametrize(
    ("kind", "algorithm", "algorithm_class"),
    [
        ("rsa2048", "RSA", VULNERABLE),
        ("rsa1024", "RSA", BROKEN),
        ("ecdsa", "ECDSA-P256", VULNERABLE),
        ("p384", "ECDSA-P384", VULNERABLE),
        ("p521", "ECDSA-P521", VULNERABLE),
        ("secp256k1", "ECDSA-secp256k1", VULNERABLE),
        ("ed25519", "Ed25519", VULNERABLE),
        ("ed448", "Ed448", VULNERABLE),
        ("x25519", "X25519", VULNERABLE),
        ("mldsa44", "ML-DSA-44", SAFE),
        ("mldsa65", "ML-DSA-65", SAFE),
        ("mldsa87", "ML-DSA-87", SAFE),
    ],
)
def test_a_real_key_of_each_type_is_loaded_and_classified(
    kind: str, algorithm: str, algorithm_class: str
) -> None:
    report = _check(real_jwk(kind))
    key = _key(report)
    assert (key["algorithm"], key["class"], key["problem"]) == (algorithm, algorithm_class, None)
    assert key["private_members"] == []
    assert not {"JWKS-004", "JWKS-006", "JWKS-007"} & _codes(report)
    assert ("JWKS-003" in _codes(report)) is (algorithm_class == SAFE)
    assert ("JWKS-002" in _codes(report)) is (algorithm_class == BROKEN)


@pytest.mark.parametrize(
    ("leaked", "members"),
    [
        (lambda: real_jwk("rsa2048", "signing", private=True), ["d", "p", "q", "dp", "dq", "qi"]),
        (lambda: real_jwk("ecdsa", "signing", private=True), ["d"]),
        (lambda: real_jwk("ed25519", "signing", private=True), ["d"]),
        (lambda: real_jwk("mldsa65", "signing", private=True), ["priv"]),
        (lambda: secret_jwk("signing"), ["k"]),
    ],
    ids=["rsa", "ec", "okp", "akp", "oct"],
)
def test_a_published_private_or_secret_key_is_critical(leaked: Any, members: list[str]) -> None:
    key = leaked()
    report = _check(real_jwk("mldsa65", "pq"), key)
    found = next(f for f in report.findings if f.code == "JWKS-006")
    assert found.severity == "critical"
    assert found.evidence["keys"] == [{"key": "signing", "members": members}]
    assert _key(report, 1)["private_members"] == members
    assert report.subscores["signatures_and_certificates"] == 0
    written = report.model_dump_json()
    for member in members:
        assert key[member] not in written, "the secret itself must never be recorded"


def _modulus(value: str) -> dict[str, Any]:
    return {**real_jwk("rsa2048", "rsa"), "n": value}


def _noncanonical(text: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]


def _ec_point(**changes: Any) -> dict[str, Any]:
    return {**real_jwk("ecdsa", "ec"), **changes}


def _off_curve() -> dict[str, Any]:
    key = real_jwk("ecdsa", "ec")
    y = int.from_bytes(base64.urlsafe_b64decode(key["y"] + "=="), "big")
    return {**key, "y": uint(y ^ 1, 32)}


def _secp256k1_point_called_p256() -> dict[str, Any]:
    return {**real_jwk("secp256k1", "ec"), "crv": "P-256", "alg": "ES256"}


def _mldsa(pub: bytes, alg: str = "ML-DSA-65") -> dict[str, Any]:
    return {"kty": "AKP", "kid": "pq", "alg": alg, "pub": b64(pub)}


ED25519_NOT_CANONICAL = b"\xff" * 31 + b"\x7f"  # y = 2^255 - 1, not below p
ED25519_NOT_ON_CURVE = (2).to_bytes(32, "little")  # y = 2: x^2 has no square root mod p

HOSTILE = {
    "rsa modulus AAAA": (lambda: _modulus("AAAA"), "0-bit modulus"),
    "rsa modulus of 256 bits": (lambda: _modulus(uint((1 << 255) | 1)), "256-bit modulus"),
    "rsa modulus even": (lambda: _modulus(uint((1 << 2047) | 2)), "small factor"),
    "rsa modulus with factor 3": (lambda: _modulus(uint(3 * ((1 << 2045) + 1))), "small factor"),
    "rsa exponent 1": (lambda: {**real_jwk("rsa2048", "rsa"), "e": "AQ"}, "exponent 1 "),
    "rsa exponent even": (lambda: {**real_jwk("rsa2048", "rsa"), "e": "AQAA"}, "exponent 65536"),
    "rsa standard base64": (
        lambda: _modulus("+" + real_jwk("rsa2048")["n"][1:]),
        "'n' is not base64url",
    ),
    "rsa stray bits": (
        lambda: _modulus(_noncanonical(real_jwk("rsa2048")["n"])),
        "not canonical",
    ),
    "ec point off the curve": (_off_curve, "not on P-256"),
    "ec secp256k1 point as P-256": (_secp256k1_point_called_p256, "not on P-256"),
    "ec 33-byte coordinate": (
        lambda: _ec_point(x="AA" + real_jwk("ecdsa")["x"][:-1]),
        "32 bytes each",
    ),
    "ec alg for another curve": (lambda: _ec_point(alg="ES384"), "defined for P-384"),
    "okp ed25519 of 31 bytes": (
        lambda: {**real_jwk("ed25519", "ed"), "x": b64(bytes(31))},
        "31 bytes; Ed25519 public keys are 32 bytes",
    ),
    "okp ed25519 y not below p": (
        lambda: {**real_jwk("ed25519", "ed"), "x": b64(ED25519_NOT_CANONICAL)},
        "not the encoding of a point",
    ),
    "okp ed25519 not on curve": (
        lambda: {**real_jwk("ed25519", "ed"), "x": b64(ED25519_NOT_ON_CURVE)},
        "not the encoding of a point",
    ),
    "okp ed448 stray top bits": (
        lambda: {**real_jwk("ed448", "ed"), "x": b64(bytes(56) + b"\x01")},
        "not the encoding of a point",
    ),
    "akp 3-byte ml-dsa-65": (
        lambda: _mldsa(b"abc"),
        "3 bytes; ML-DSA-65 public keys are 1952 bytes",
    ),
    "akp ml-dsa-44 key called 65": (
        lambda: _mldsa(bytes(1312)),
        "1312 bytes; ML-DSA-65 public keys are 1952 bytes",
    ),
    "akp without alg": (lambda: {"kty": "AKP", "pub": b64(bytes(1952))}, "names its algorithm"),
    "akp without pub": (lambda: {"kty": "AKP", "alg": "ML-DSA-44"}, "no 'pub' member"),
    "rsa alg on an ec key": (lambda: _ec_point(alg="RS256"), "not defined for kty 'EC'"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_malformed_key_material_is_reported_and_never_classified(case: str) -> None:
    make, problem = HOSTILE[case]
    report = _check(make())
    key = _key(report)
    assert key["problem"] is not None
    assert problem in key["problem"]
    assert (key["class"], key["algorithm"]) == (UNKNOWN, None)
    assert "RSA-0" not in key["basis"]
    assert _codes(report) & {"JWKS-001", "JWKS-003", "JWKS-004", "JWKS-007"} == {"JWKS-007"}
    # Nothing but a malformed key: nothing in the set can verify a signature.
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_garbage_ml_dsa_key_beside_a_real_rsa_key_leaves_the_set_classical() -> None:
    rsa = real_jwk("rsa2048", "rsa")
    report = _check(rsa, _mldsa(b"abc"))
    assert {"JWKS-001", "JWKS-007"} <= _codes(report)
    assert "JWKS-003" not in _codes(report)
    alone = _check(rsa).subscores["signatures_and_certificates"]
    assert report.subscores["signatures_and_certificates"] == alone


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ({"kty": "XYZ", "kid": "odd"}, "kty 'XYZ'"),
        ({**real_jwk("ecdsa"), "crv": "brainpoolP256r1", "alg": None}, "curve 'brainpoolP256r1'"),
        ({"kty": "OKP", "crv": "Ed1174", "x": b64(bytes(32))}, "curve 'Ed1174'"),
        ({"kty": "AKP", "alg": "SLH-DSA-SHA2-128s", "pub": b64(bytes(32))}, "SLH-DSA-SHA2-128s"),
        ({"kty": "oct", "alg": "HS256"}, "symmetric (oct) key"),
    ],
)
def test_a_key_type_the_check_cannot_load_stays_unknown_but_named(
    key: dict[str, Any], named: str
) -> None:
    report = _check(key)
    assert _key(report)["class"] == UNKNOWN
    assert named in _key(report)["basis"]
    assert _codes(report) == {"JWKS-004"}


def test_padded_base64url_from_a_lenient_publisher_still_loads() -> None:
    key = real_jwk("ecdsa", "ec")
    padded = {**key, "x": key["x"] + "=" * (-len(key["x"]) % 4)}
    assert padded["x"].endswith("=")
    assert _key(_check(padded))["algorithm"] == "ECDSA-P256"


def test_every_real_edwards_key_decodes() -> None:
    for kind, curve in (("ed25519", "Ed25519"), ("ed448", "Ed448")):
        for _ in range(50):
            raw = base64.urlsafe_b64decode(real_jwk(kind)["x"] + "==")
            assert edwards_point_decodes(raw, curve)


def test_stored_jwks_details_without_the_new_fields_still_read() -> None:
    stored = json.loads(json.dumps(_check(real_jwk("ecdsa", "ec")).details))
    for key in stored["keys"]:
        del key["problem"], key["private_members"]
    result = JwksResult.model_validate(stored)
    assert (result.keys[0].problem, result.keys[0].private_members) == (None, ())
