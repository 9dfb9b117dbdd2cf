"""SSH host keys as the KEX reply carries them (RFC 4253 6.6, RFC 5656 3.1, RFC 8709): type, size,
fingerprint and whether the server's signature over the exchange hash verifies. Pure."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from checks.ssh.curves import ssh_curve
from checks.ssh.wire import SshProtocolError, WireReader
from pq_crypto.catalogue import Classification, algorithm_index, rsa_classification

# The host key algorithms whose keys the probe reads, each key family once: a server's RSA key
# is the same under rsa-sha2-512, rsa-sha2-256 and ssh-rsa, so the first of those it offers is
# asked for. OpenSSH host certificates are read the same way, one per certified key family
# (checks/ssh/certificates.py); security-key (sk-) types are listed, not read.
FAMILIES: tuple[tuple[str, ...], ...] = (
    ("ssh-ed25519",),
    ("ssh-ed448",),
    ("ecdsa-sha2-nistp256",),
    ("ecdsa-sha2-nistp384",),
    ("ecdsa-sha2-nistp521",),
    ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
    ("ssh-dss",),
    ("ssh-ed25519-cert-v01@openssh.com",),
    ("ecdsa-sha2-nistp256-cert-v01@openssh.com",),
    ("ecdsa-sha2-nistp384-cert-v01@openssh.com",),
    ("ecdsa-sha2-nistp521-cert-v01@openssh.com",),
    (
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
    ),
    ("ssh-dss-cert-v01@openssh.com",),
)
RSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "rsa-sha2-512": hashes.SHA512(),
    "rsa-sha2-256": hashes.SHA256(),
    "ssh-rsa": hashes.SHA1(),  # noqa: S303 (verifying what a server sends, not choosing it)
}


def host_key_plan(offered: list[str]) -> tuple[list[str], list[str]]:
    """The algorithms to ask for, one per key family, and the offered ones not read."""
    wanted = [next((a for a in family if a in offered), None) for family in FAMILIES]
    plan = [algorithm for algorithm in wanted if algorithm is not None]
    covered = {a for family in FAMILIES for a in family}
    return plan, [algorithm for algorithm in offered if algorithm not in covered]


@dataclass(frozen=True)
class HostKey:
    key_type: str  # an algorithm id of the policy: RSA, DSA, ECDSA-P256, Ed25519, Ed448
    bits: int | None
    fingerprint: str  # as `ssh-keygen -l` prints it
    public_key: Any  # the cryptography key, or None when it would not load


def fingerprint(blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def parse_host_key(blob: bytes) -> HostKey:
    reader = WireReader(blob, "host key")
    name = reader.string()
    try:
        if name == b"ssh-rsa":
            e, n = reader.mpint(), reader.mpint()
            if n < 3 or e < 3:
                raise SshProtocolError("SSH-005", "an RSA host key without a usable modulus")
            key: Any = _load(lambda: rsa.RSAPublicNumbers(e, n).public_key())
            return HostKey("RSA", n.bit_length(), fingerprint(blob), key)
        if name == b"ssh-dss":
            p, q, g, y = (reader.mpint() for _ in range(4))
            numbers = dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g))
            return HostKey("DSA", p.bit_length(), fingerprint(blob), _load(numbers.public_key))
        if name.startswith(b"ecdsa-sha2-"):
            curve_name, point = reader.string(), reader.string()
            known = ssh_curve(curve_name.decode("ascii", "replace"))
            if known is None or name != b"ecdsa-sha2-" + curve_name:
                raise SshProtocolError("SSH-005", f"unknown ECDSA curve {curve_name[:20]!r}")
            key = ec.EllipticCurvePublicKey.from_encoded_point(known.curve, point)
            return HostKey(known.key_type, known.curve.key_size, fingerprint(blob), key)
        if name == b"ssh-ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(reader.string())
            return HostKey("Ed25519", 256, fingerprint(blob), key)
        if name == b"ssh-ed448":
            key = ed448.Ed448PublicKey.from_public_bytes(reader.string())
            return HostKey("Ed448", 448, fingerprint(blob), key)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SshProtocolError("SSH-005", f"unreadable host key: {exc}") from exc
    raise SshProtocolError("SSH-005", f"unknown host key type {name[:40]!r}")


def _load(make: Any) -> Any:
    """An RSA or DSA key as cryptography loads it; None when it refuses one of a size it does
    not support (a DSA modulus other than 1024 to 4096 bits): the size is what the check
    judges, so it is read all the same, and the signature goes unverified."""
    try:
        return make()
    except (ValueError, UnsupportedAlgorithm):
        return None


def signature_verifies(key: HostKey, algorithm: str, signature_blob: bytes, data: bytes) -> bool:
    """Whether the server signed the exchange hash with this key under `algorithm`."""
    if key.public_key is None:
        return False
    reader = WireReader(signature_blob, "signature")
    if reader.string().decode("ascii", errors="replace") != algorithm:
        return False
    signature = reader.string()
    public = key.public_key
    try:
        if algorithm in RSA_HASHES:
            public.verify(signature, data, padding.PKCS1v15(), RSA_HASHES[algorithm])
        elif algorithm.startswith("ecdsa-sha2-"):
            inner = WireReader(signature, "ECDSA signature")
            der = encode_dss_signature(inner.mpint(), inner.mpint())
            known = ssh_curve(algorithm.removeprefix("ecdsa-sha2-"))
            if known is None:
                return False
            public.verify(der, data, ec.ECDSA(known.digest))
        elif algorithm == "ssh-dss":
            if len(signature) != 40:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:20], "big"), int.from_bytes(signature[20:], "big")
            )
            public.verify(der, data, hashes.SHA1())  # noqa: S303 (DSA in SSH is SHA-1 only)
        elif algorithm in ("ssh-ed25519", "ssh-ed448"):
            public.verify(signature, data)
        else:
            return False
    except (InvalidSignature, ValueError, KeyError, UnsupportedAlgorithm, TypeError):
        return False
    return True


def key_classification(key_type: str, bits: int | None) -> Classification:
    """The policy's class for a host key: RSA by its modulus, the others by their type."""
    if key_type == "RSA" and bits:
        return rsa_classification(bits)
    return algorithm_index().name(key_type)
