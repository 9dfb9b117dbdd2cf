"""The NIST curves SSH names (RFC 5656: `nistp256` in ecdsa-sha2-* and ecdh-sha2-*), resolved
through the algorithm catalogue's one table of curves, with the hash RFC 5656 6.2.1 ties to each
curve's size."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from pq_crypto.catalogue import algorithm_index

# The curves RFC 5656 10.1 requires; others would be named by OID, which OpenSSH never does.
SSH_CURVES = ("nistp256", "nistp384", "nistp521")


@dataclass(frozen=True)
class SshCurve:
    name: str  # as SSH writes it: nistp256
    key_type: str  # the catalogue's algorithm id for a signing key on it: ECDSA-P256
    curve: ec.EllipticCurve
    digest: hashes.HashAlgorithm
    hashlib_digest: Callable[..., hashlib._Hash]


def _digests(bits: int) -> tuple[hashes.HashAlgorithm, Callable[..., hashlib._Hash]]:
    if bits <= 256:
        return hashes.SHA256(), hashlib.sha256
    if bits <= 384:
        return hashes.SHA384(), hashlib.sha384
    return hashes.SHA512(), hashlib.sha512


@cache
def ssh_curve(name: str) -> SshCurve | None:
    """The curve an SSH name stands for, or None for a name SSH or the catalogue lacks."""
    if name not in SSH_CURVES:
        return None
    curve = algorithm_index().curve(name)
    if curve is None:
        raise ValueError(f"the algorithm catalogue has no curve named {name}")
    digest, hashlib_digest = _digests(curve.bits)
    made = ec.get_curve_for_oid(x509.ObjectIdentifier(curve.oid))()
    return SshCurve(name, curve.signature, made, digest, hashlib_digest)
