"""Self-signed certificates made on the fly for loopback peers."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.x509.oid import NameOID


def make_certificate(
    folder: Path, kind: str = "ecdsa", days: int = 90, expired: bool = False
) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for kind ecdsa, rsa2048 or mldsa65."""
    if kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
        algorithm = hashes.SHA256()
    elif kind == "rsa2048":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        algorithm = hashes.SHA256()
    elif kind == "mldsa65":
        key = mldsa.MLDSA65PrivateKey.generate()
        algorithm = None
    else:
        raise ValueError(kind)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=400 if expired else 1)
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, algorithm)
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{kind}-cert.pem", folder / f"{kind}-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
