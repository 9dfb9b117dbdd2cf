"""Certificates made on the fly for loopback peers and certificate checks: self-signed with any
key `cryptography` can make, issued by another key, or not valid yet."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, mldsa, mlkem, rsa
from cryptography.x509.oid import NameOID

PrivateKey = Any  # any private key type `cryptography` signs or issues for

KEYS: dict[str, Callable[[], PrivateKey]] = {
    "ecdsa": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "p192": lambda: ec.generate_private_key(ec.SECP192R1()),
    "p224": lambda: ec.generate_private_key(ec.SECP224R1()),
    "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
    "brainpoolP256r1": lambda: ec.generate_private_key(ec.BrainpoolP256R1()),
    "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505
    "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
    "dsa2048": lambda: dsa.generate_private_key(key_size=2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ed448": ed448.Ed448PrivateKey.generate,
    "mldsa44": mldsa.MLDSA44PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
    "mlkem768": mlkem.MLKEM768PrivateKey.generate,  # a KEM key: issued by a signing key
}
# Keys that sign without a separate hash (EdDSA, ML-DSA).
PURE = (
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    mldsa.MLDSA44PrivateKey,
    mldsa.MLDSA65PrivateKey,
    mldsa.MLDSA87PrivateKey,
)
LOCALHOST = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])


def generate_key(kind: str) -> PrivateKey:
    if kind not in KEYS:
        raise ValueError(kind)
    return KEYS[kind]()


def issue(
    subject_key: PrivateKey,
    *,
    issuer_key: PrivateKey | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    subject: x509.Name = LOCALHOST,
    issuer: x509.Name | None = None,
) -> x509.Certificate:
    """A certificate for subject_key, signed by issuer_key (itself when none) over `algorithm`
    (SHA-256 when none and the signing key needs a hash)."""
    signer = issuer_key or subject_key
    if algorithm is None and not isinstance(signer, PURE):
        algorithm = hashes.SHA256()
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(days=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(signer, algorithm)
    )


def write_pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def write_key(path: Path, key: PrivateKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def make_certificate(
    folder: Path, kind: str = "ecdsa", days: int = 90, expired: bool = False
) -> tuple[Path, Path]:
    """(cert.pem, key.pem), self-signed, for any key kind in KEYS."""
    key = generate_key(kind)
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=400 if expired else 1)
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
    certificate = issue(key, not_before=start, not_after=end)
    return (
        write_pem(folder / f"{kind}-cert.pem", certificate),
        write_key(folder / f"{kind}-key.pem", key),
    )
