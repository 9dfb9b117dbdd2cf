"""Certificates `cryptography` will not make: signed over MD5 or SHA-1 (it refuses those
hashes for signing certificates), made by the system's OpenSSL CLI as an old CA would; and, as
neither can make them, one carrying an SLH-DSA key or an EC point off its curve (assembled as DER
by hand and signed with a real ML-DSA key) and one with no signature at all (RFC 9925)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa

from tests.peers.certificates import PrivateKey, generate_key, issue, write_key

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
SLH_DSA_SHA2_128S = "2.16.840.1.101.3.4.3.20"
UNSIGNED = "1.3.6.1.5.5.7.6.36"
ID_EC_PUBLIC_KEY, PRIME256V1 = "1.2.840.10045.2.1", "1.2.840.10045.3.1.7"


def openssl_certificate(
    folder: Path, key_kind: str, digest: str, *options: str
) -> x509.Certificate:
    """A self-signed certificate for a fresh key of key_kind, signed by `openssl req -x509`
    over `digest` (md5, sha1, ...); options go to openssl as they are (e.g. -sigopt)."""
    key_path = write_key(folder / f"{key_kind}-{digest}-key.pem", generate_key(key_kind))
    cert_path = folder / f"{key_kind}-{digest}-cert.pem"
    command = [OPENSSL, "req", "-x509", "-key", str(key_path), "-out", str(cert_path)]
    command += ["-subj", "/CN=legacy.example", "-days", "30", f"-{digest}", *options]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return x509.load_pem_x509_certificate(cert_path.read_bytes())


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _children(der: bytes) -> list[bytes]:
    """The TLVs inside a DER SEQUENCE."""
    at = 1
    size = der[at]
    at += 1 + (size & 0x7F if size & 0x80 else 0)
    found = []
    while at < len(der):
        start, size, at = at, der[at + 1], at + 2
        if size & 0x80:
            count = size & 0x7F
            size, at = int.from_bytes(der[at : at + count], "big"), at + count
        found.append(der[start : at + size])
        at += size
    return found


def with_public_key(
    algorithm: bytes, key: bytes, issuer_key: PrivateKey | None = None
) -> x509.Certificate:
    """A certificate whose subjectPublicKeyInfo is `algorithm` (an AlgorithmIdentifier's
    content: the OID and any parameters) and `key`, signed by an ML-DSA-65 issuer: a
    cryptography-built certificate with that part swapped, re-signed over the new
    to-be-signed part."""
    issuer_key = issuer_key or mldsa.MLDSA65PrivateKey.generate()
    template = issue(generate_key("mldsa44"), issuer_key=issuer_key)
    outer = _children(template.public_bytes(serialization.Encoding.DER))
    fields = _children(template.tbs_certificate_bytes)
    # version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, extensions
    fields[6] = _tlv(0x30, _tlv(0x30, algorithm) + _tlv(0x03, b"\x00" + key))
    tbs = _tlv(0x30, b"".join(fields))
    signature = issuer_key.sign(tbs)
    der = _tlv(0x30, tbs + outer[1] + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def slh_dsa_certificate(issuer_key: PrivateKey | None = None) -> x509.Certificate:
    """A certificate whose subject key is SLH-DSA-SHA2-128s (32 bytes, FIPS 205 table 2)."""
    return with_public_key(_oid(SLH_DSA_SHA2_128S), os.urandom(32), issuer_key)


def off_curve_p256_certificate() -> x509.Certificate:
    """A certificate whose P-256 key is the point (1, 2), which is not on the curve."""
    point = b"\x04" + (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
    return with_public_key(_oid(ID_EC_PUBLIC_KEY) + _oid(PRIME256V1), point)


def unsigned_certificate(subject_key: PrivateKey) -> x509.Certificate:
    """A certificate with no signature (RFC 9925 id-alg-unsigned, as a trust anchor or a KEM
    key's certificate may be): the algorithm identifier in both places, an empty signature."""
    template = issue(subject_key)
    unsigned = _tlv(0x30, _oid(UNSIGNED))
    fields = _children(template.tbs_certificate_bytes)
    fields[2] = unsigned
    tbs = _tlv(0x30, b"".join(fields))
    return x509.load_der_x509_certificate(_tlv(0x30, tbs + unsigned + _tlv(0x03, b"\x00")))
