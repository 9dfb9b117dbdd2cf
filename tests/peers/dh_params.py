"""Fixed Diffie-Hellman groups as PEM parameter files, for TLS peers serving DHE suites: RFC 2409's
768-bit Oakley group 1 and 1024-bit group 2 (the primes Logjam showed precomputable), written
without generating anything, so a test starts at once."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

_PI_PRIME_HEAD = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A6"
)
OAKLEY_GROUP_1 = int(_PI_PRIME_HEAD + "3A3620FFFFFFFFFFFFFFFF", 16)  # 768 bits
OAKLEY_GROUP_2 = int(
    _PI_PRIME_HEAD
    + "37ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)  # 1024 bits


def _der(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # a leading 0: positive


def dh_params_file(folder: Path, prime: int) -> Path:
    """The group (generator 2) as a PKCS#3 PEM file, as `openssl dhparam` writes one. Written by
    hand: the cryptography package deprecates finite-field DH."""
    der = _der(0x30, _integer(prime) + _integer(2))
    lines = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    path = folder / f"dh{prime.bit_length()}.pem"
    path.write_text(f"-----BEGIN DH PARAMETERS-----\n{lines}\n-----END DH PARAMETERS-----\n")
    return path
