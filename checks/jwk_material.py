"""A JSON Web Key's material, read strictly and loaded with `cryptography` before anything is
said about its algorithm: a key that does not load is malformed, whatever its `kty` and `alg`
claim (a 3-byte "ML-DSA-65" key is not a post-quantum key, and "AAAA" is not an RSA modulus).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from pq_crypto.catalogue import algorithm_index

# RFC 7515 §2: the URL-safe alphabet without padding. Padding is tolerated (many JOSE libraries
# strip it before decoding, so relying parties accept it); anything else is refused.
BASE64URL = re.compile(r"[A-Za-z0-9_-]+(={0,2})")
MIN_RSA_BITS = 512  # a smaller modulus is taken for garbage rather than for a weak key
MAX_RSA_BITS = 16384  # OpenSSL's limit for RSA public key operations
MAX_EXPONENT_BITS = 64  # OpenSSL refuses larger public exponents for moduli over 3072 bits


@cache
def small_primes() -> int:
    """The product of the odd primes below 10,000. Every real RSA modulus is a product of two
    large primes, so it has no small factor; a random odd number has one about nine times in
    ten."""
    return math.prod(
        p for p in range(3, 10_000, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))
    )


@cache
def ec_curves() -> dict[str, tuple[type[ec.EllipticCurve], int]]:
    """JWK crv -> the curve `cryptography` loads and the bytes of each coordinate, for every
    curve the catalogue gives a JOSE name (data/algorithms.yaml) that `cryptography` can load."""
    found: dict[str, tuple[type[ec.EllipticCurve], int]] = {}
    for curve in algorithm_index().curves():
        if curve.jose_crv is None:
            continue
        try:
            loader = ec.get_curve_for_oid(x509.ObjectIdentifier(curve.oid))
        except LookupError:
            continue  # a curve this library cannot load: its keys stay unknown, not guessed
        found[curve.jose_crv] = (loader, (curve.bits + 7) // 8)
    return found


@cache
def ec_algorithms() -> dict[str, str]:
    """JOSE alg -> the one crv it is defined for (ES256 is P-256), from the catalogue."""
    index = algorithm_index()
    return {
        alg: curve.jose_crv
        for curve in index.curves()
        if curve.jose_crv is not None
        for alg in index.get(curve.signature).jose_algs
    }


OKP_CURVES: dict[str, tuple[Any, int]] = {
    "Ed25519": (ed25519.Ed25519PublicKey, 32),
    "Ed448": (ed448.Ed448PublicKey, 57),
    "X25519": (x25519.X25519PublicKey, 32),
    "X448": (x448.X448PublicKey, 56),
}
# draft-ietf-cose-dilithium: AKP keys, public key sizes from FIPS 204 table 2.
AKP_ALGORITHMS: dict[str, tuple[Any, int]] = {
    "ML-DSA-44": (mldsa.MLDSA44PublicKey, 1312),
    "ML-DSA-65": (mldsa.MLDSA65PublicKey, 1952),
    "ML-DSA-87": (mldsa.MLDSA87PublicKey, 2592),
}


@cache
def algorithm_key_types() -> dict[str, tuple[str, ...]]:
    """The key types a JOSE algorithm is defined for (RFC 7518, RFC 8037, RFC 8812, the AKP
    draft)."""
    return {
        **{alg: ("RSA",) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
        **{alg: ("RSA",) for alg in ("RSA1_5", "RSA-OAEP", "RSA-OAEP-256")},
        **{alg: ("EC",) for alg in ec_algorithms()},
        **{alg: ("OKP",) for alg in ("EdDSA", "Ed25519", "Ed448")},
        **{alg: ("EC", "OKP") for alg in ("ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW")},
        **{alg: ("AKP",) for alg in AKP_ALGORITHMS},
        **{alg: ("oct",) for alg in ("HS256", "HS384", "HS512", "dir", "A128KW", "A256KW")},
    }


# The members that hold a private or secret key (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037; the
# AKP draft's priv). A key type this check does not know is searched for all of them.
PRIVATE_MEMBERS = {
    "RSA": ("d", "p", "q", "dp", "dq", "qi", "oth"),
    "EC": ("d",),
    "OKP": ("d",),
    "AKP": ("priv", "d"),
    "oct": ("k",),
}
ANY_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "priv", "k")


class MalformedKey(ValueError):
    """The key's material is not what its key type requires; the message says how."""


def private_members(key: dict[str, Any]) -> tuple[str, ...]:
    members = PRIVATE_MEMBERS.get(str(key.get("kty")), ANY_PRIVATE)
    return tuple(m for m in members if key.get(m) not in (None, ""))


def decode_member(key: dict[str, Any], member: str) -> bytes:
    value = key.get(member)
    if value is None:
        raise MalformedKey(f"no {member!r} member")
    if not isinstance(value, str) or not BASE64URL.fullmatch(value):
        raise MalformedKey(f"{member!r} is not base64url")
    text = value.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedKey(f"{member!r} is not base64url") from exc
    # A canonical encoding only: stray low bits in the last character mean the text was not
    # written from these bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise MalformedKey(f"{member!r} is not canonical base64url")
    return raw


def _rsa(key: dict[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(decode_member(key, "n"), "big")
    e = int.from_bytes(decode_member(key, "e"), "big")
    bits = n.bit_length()
    if bits < MIN_RSA_BITS or bits > MAX_RSA_BITS:
        raise MalformedKey(f"a {bits}-bit modulus is not an RSA modulus")
    if n % 2 == 0 or math.gcd(n, small_primes()) != 1:
        raise MalformedKey(f"the {bits}-bit modulus has a small factor, so it is not an RSA key")
    if e < 3 or e % 2 == 0 or e.bit_length() > MAX_EXPONENT_BITS:
        shown = e if e.bit_length() <= MAX_EXPONENT_BITS else f"a {e.bit_length()}-bit number"
        raise MalformedKey(f"the public exponent {shown} is not a usable RSA exponent")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise MalformedKey(f"the RSA key does not load: {exc}") from exc


def _ec(key: dict[str, Any], curve: str) -> ec.EllipticCurvePublicKey:
    curve_type, size = ec_curves()[curve]
    x, y = decode_member(key, "x"), decode_member(key, "y")
    if len(x) != size or len(y) != size:
        raise MalformedKey(
            f"{curve} coordinates are {size} bytes each (RFC 7518 §6.2.1.2), not "
            f"{len(x)} and {len(y)}"
        )
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve_type()
    )
    try:
        return numbers.public_key()
    except ValueError as exc:
        raise MalformedKey(f"the point (x, y) is not on {curve}") from exc


def _sized(key: dict[str, Any], member: str, name: str, loader: Any, size: int) -> Any:
    raw = decode_member(key, member)
    if len(raw) != size:
        raise MalformedKey(f"{member!r} is {len(raw)} bytes; {name} public keys are {size} bytes")
    if name in ("Ed25519", "Ed448") and not edwards_point_decodes(raw, name):
        raise MalformedKey(f"{member!r} is not the encoding of a point on {name}")
    try:
        return loader.from_public_bytes(raw)
    except ValueError as exc:
        raise MalformedKey(f"the {name} key does not load: {exc}") from exc


def _check_algorithm(kty: object, crv: object, alg: object) -> None:
    key_types, curves = algorithm_key_types(), ec_algorithms()
    if not isinstance(alg, str) or alg not in key_types:
        return
    if kty not in key_types[alg]:
        raise MalformedKey(f"alg {alg} is not defined for kty {kty!r}")
    if alg in curves and crv != curves[alg]:
        raise MalformedKey(f"alg {alg} is defined for {curves[alg]}, not {crv!r}")


def load_jwk(key: dict[str, Any]) -> PublicKeyTypes | None:
    """The key's public key, loaded; None when its type or curve is one this check does not
    know (so its material cannot be judged). Raises MalformedKey."""
    kty, crv, alg = key.get("kty"), key.get("crv"), key.get("alg")
    _check_algorithm(kty, crv, alg)
    if kty == "RSA":
        return _rsa(key)
    if kty == "EC":
        return _ec(key, crv) if isinstance(crv, str) and crv in ec_curves() else None
    if kty == "OKP":
        if not (isinstance(crv, str) and crv in OKP_CURVES):
            return None
        loader, size = OKP_CURVES[crv]
        return _sized(key, "x", crv, loader, size)
    if kty == "AKP":
        if alg is None:
            raise MalformedKey("an AKP key names its algorithm in alg, and this one has none")
        if not (isinstance(alg, str) and alg in AKP_ALGORITHMS):
            return None
        loader, size = AKP_ALGORITHMS[alg]
        return _sized(key, "pub", alg, loader, size)
    return None


# RFC 8032 §5.1.3 and §5.2.3: a point decodes when y < p and x² = (y² - 1) / (d·y² - a) has a
# root (and x = 0 only with the sign bit clear). `cryptography` loads any 32 or 57 bytes as a key.
ED25519 = (2**255 - 19, -121665 * pow(121666, -1, 2**255 - 19), -1)
ED448 = (2**448 - 2**224 - 1, -39081, 1)


def edwards_point_decodes(raw: bytes, curve: str) -> bool:
    p, d, a = ED25519 if curve == "Ed25519" else ED448
    value = int.from_bytes(raw, "little")
    top = 8 * len(raw) - 1
    sign, y = value >> top, value & ((1 << top) - 1)
    if y >= p:
        return False
    denominator = (d * y * y - a) % p
    if denominator == 0:
        return False
    x2 = (y * y - 1) * pow(denominator, -1, p) % p
    if x2 == 0:
        return sign == 0
    return pow(x2, (p - 1) // 2, p) == 1
