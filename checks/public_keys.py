"""Classify a public key `cryptography` has loaded (from a certificate or a JSON Web Key):
its type, its size, and what the algorithm policy says of it.

The certificate check and the JWKS check both load keys before they judge them, so a key that
does not load is never classified, and both name a key the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    mldsa,
    mlkem,
    rsa,
    x448,
    x25519,
)
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from pq_crypto.catalogue import AlgorithmClass, Classification, algorithm_index, rsa_classification

# Below 112 bits of classical security a key is broken today (NIST SP 800-131A), as RSA under
# 2048 bits is in rsa_classification.
MIN_CLASSICAL_BITS = 112

# Key types whose algorithm the policy names directly, with the key's size in bits (the size of
# the curve or the field, not of the encoding: an Ed448 key is 57 bytes but a 448-bit curve).
NAMED_KEYS: tuple[tuple[type, str, int | None], ...] = (
    (ed25519.Ed25519PublicKey, "Ed25519", 256),
    (ed448.Ed448PublicKey, "Ed448", 448),
    (x25519.X25519PublicKey, "X25519", 256),
    (x448.X448PublicKey, "X448", 448),
    (mldsa.MLDSA44PublicKey, "ML-DSA-44", None),
    (mldsa.MLDSA65PublicKey, "ML-DSA-65", None),
    (mldsa.MLDSA87PublicKey, "ML-DSA-87", None),
    (mlkem.MLKEM768PublicKey, "ML-KEM-768", None),
    (mlkem.MLKEM1024PublicKey, "ML-KEM-1024", None),
)


@dataclass(frozen=True)
class KeyClass:
    key_type: str  # "RSA", "EC secp256r1", "Ed448", "ML-DSA-65"
    key_bits: int | None
    classification: Classification


def curve_classification(curve: str, bits: int) -> Classification:
    """A key on a curve, as the catalogue's curve table classifies it (data/algorithms.yaml)."""
    index = algorithm_index()
    known = index.curve(curve)
    if known is not None:
        return index.classify(index.get(known.signature), f"curve {known.name}")
    # No curve of n bits gives more than n/2 bits of security (Pollard's rho), so a small
    # unknown curve is broken whatever it is. A larger one may still be weak (anomalous or
    # MOV-friendly curves are), so its size proves nothing: it stays unknown, and says why.
    security = bits // 2
    if security < MIN_CLASSICAL_BITS:
        return Classification(
            None,
            AlgorithmClass.CLASSICALLY_BROKEN,
            classical_bits=security,
            basis=f"curve {curve} ({bits}-bit): at most {security} bits of security",
        )
    return Classification(
        None,
        AlgorithmClass.UNKNOWN,
        basis=f"unknown curve {curve} ({bits}-bit): not in the algorithm catalogue",
    )


def classify_key(key: PublicKeyTypes) -> KeyClass:
    index = algorithm_index()
    if isinstance(key, rsa.RSAPublicKey):
        return KeyClass("RSA", key.key_size, rsa_classification(key.key_size))
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = key.curve.name
        return KeyClass(f"EC {curve}", key.key_size, curve_classification(curve, key.key_size))
    if isinstance(key, dsa.DSAPublicKey):
        return KeyClass("DSA", key.key_size, index.name("DSA"))
    for key_type, name, bits in NAMED_KEYS:
        if isinstance(key, key_type):
            return KeyClass(name, bits, index.name(name))
    name = type(key).__name__
    return KeyClass(name, None, Classification(None, AlgorithmClass.UNKNOWN, basis=name))


def classify_key_oid(oid: str, name: str | None) -> KeyClass:
    """A key `cryptography` cannot load (SLH-DSA, GOST): what its algorithm OID says."""
    classification = algorithm_index().oid(oid)
    key_type = classification.algorithm_id or (name if name and name != "Unknown OID" else oid)
    return KeyClass(key_type, None, classification)
