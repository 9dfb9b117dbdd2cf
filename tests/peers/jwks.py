"""JSON Web Keys written from real keys `cryptography` generates (RFC 7518, RFC 8037, RFC 8812,
the AKP draft for ML-DSA): the public members, and the private ones a careless publisher adds."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, rsa, x25519

from tests.peers.certificates import PrivateKey, generate_key

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
CURVES = {
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "secp256k1",
}
ALGS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
OKP = {
    ed25519.Ed25519PrivateKey: "Ed25519",
    ed448.Ed448PrivateKey: "Ed448",
    x25519.X25519PrivateKey: "X25519",
}
AKP = {
    mldsa.MLDSA44PrivateKey: "ML-DSA-44",
    mldsa.MLDSA65PrivateKey: "ML-DSA-65",
    mldsa.MLDSA87PrivateKey: "ML-DSA-87",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(value: int, size: int | None = None) -> str:
    """A Base64urlUInt (RFC 7518 §2), padded to `size` bytes for a curve coordinate."""
    return b64(value.to_bytes(size or max(1, (value.bit_length() + 7) // 8), "big"))


def _raw_private(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def jwk(key: PrivateKey, kid: str, private: bool = False) -> dict[str, Any]:
    """The key as a JWK: its public members, and with private=True its private ones too."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        found: dict[str, Any] = {"kty": "RSA", "alg": "RS256"}
        found |= {"n": uint(numbers.public_numbers.n), "e": uint(numbers.public_numbers.e)}
        secret = {
            "d": numbers.d,
            "p": numbers.p,
            "q": numbers.q,
            "dp": numbers.dmp1,
            "dq": numbers.dmq1,
            "qi": numbers.iqmp,
        }
        private_part = {name: uint(value) for name, value in secret.items()}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        crv = CURVES[key.curve.name]
        size = (key.curve.key_size + 7) // 8
        point = key.public_key().public_numbers()
        found = {"kty": "EC", "crv": crv, "alg": ALGS[crv]}
        found |= {"x": uint(point.x, size), "y": uint(point.y, size)}
        private_part = {"d": uint(key.private_numbers().private_value, size)}
    elif crv := next((name for kind, name in OKP.items() if isinstance(key, kind)), None):
        found = {"kty": "OKP", "crv": crv, "x": b64(key.public_key().public_bytes(*RAW))}
        private_part = {"d": b64(_raw_private(key))}
    elif alg := next((name for kind, name in AKP.items() if isinstance(key, kind)), None):
        found = {"kty": "AKP", "alg": alg}
        found["pub"] = b64(key.public_key().public_bytes(*RAW))
        private_part = {"priv": b64(_raw_private(key))}
    else:
        raise ValueError(type(key).__name__)
    found["kid"] = kid
    return found | private_part if private else found


def secret_jwk(kid: str) -> dict[str, Any]:
    """A symmetric HMAC key, as only the issuer should ever hold it."""
    return {"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(secrets.token_bytes(32))}


def key_set(*keys: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


def real_jwk(kind: str, kid: str | None = None, private: bool = False) -> dict[str, Any]:
    """A fresh key of a tests.peers.certificates KEYS kind, or x25519, as a JWK."""
    key = x25519.X25519PrivateKey.generate() if kind == "x25519" else generate_key(kind)
    return jwk(key, kid or kind, private)
