"""The trust store the TLS check judges chains against: a PEM bundle of anchors, read once per
file version.

The default is the operating system's bundle. certifi is not one of the project's declared
dependencies (it arrives only through httpx), so the installed set cannot promise it; it is the
fallback where the system has no bundle (macOS), and an operator can name any bundle with
ASSURE_TLS_TRUST_STORE (kernel/settings.py), e.g. to add a force's own CA for internal services.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import Store

from kernel.errors import ConfigError

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Public bundles are ~220 KB and ~150 anchors; these bound an operator's mistake (a disk image
# named as the store), not a supplier's input.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_ANCHORS = 5000
PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class TrustAnchors:
    source: str  # the bundle's path, as reports name it
    anchors: tuple[x509.Certificate, ...]
    store: Store
    skipped: int = 0  # PEM blocks of the bundle that were not readable certificates
    _by_subject: dict[bytes, list[x509.Certificate]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def named(self, name: x509.Name) -> list[x509.Certificate]:
        """The anchors whose subject is `name` (candidates to have issued a certificate)."""
        return self._by_subject.get(name.public_bytes(), [])

    def holds(self, certificate: x509.Certificate) -> bool:
        """`certificate` is an anchor, or the same CA as one (its subject and key): a root
        cross-signed by an older one is sent as a different certificate for the same anchor."""
        try:
            key = _key_bytes(certificate)
            return any(_key_bytes(a) == key for a in self.named(certificate.subject))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return any(anchor == certificate for anchor in self.named(certificate.subject))


def _key_bytes(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def anchors_of(certificates: list[x509.Certificate], source: str, skipped: int = 0) -> TrustAnchors:
    """A trust store of these anchors (tests build theirs with it)."""
    if not certificates:
        raise ConfigError(f"the TLS trust store {source} holds no readable certificate")
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    for anchor in certificates:
        by_subject.setdefault(anchor.subject.public_bytes(), []).append(anchor)
    return TrustAnchors(source, tuple(certificates), Store(certificates), skipped, by_subject)


def default_bundle() -> Path:
    if SYSTEM_BUNDLE.is_file():
        return SYSTEM_BUNDLE
    try:
        import certifi
    except ImportError:
        raise ConfigError(
            f"no CA bundle at {SYSTEM_BUNDLE} and certifi is not installed: name a PEM bundle "
            "with ASSURE_TLS_TRUST_STORE"
        ) from None
    return Path(certifi.where())


def load_trust_anchors(path: Path | None = None) -> TrustAnchors:
    """The anchors of `path` (the default bundle when None). An unreadable or empty bundle is
    the operator's to fix, so it stops the check (ConfigError) instead of failing every chain."""
    bundle = path or default_bundle()
    try:
        stat = os.stat(bundle)
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS trust store {bundle}: {exc.strerror}") from exc
    return _load(str(bundle), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int, size: int) -> TrustAnchors:
    # Keyed by modification time and size too, so a bundle replaced on disk is read again.
    if size > MAX_BUNDLE_BYTES:
        raise ConfigError(f"the TLS trust store {path} is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS trust store {path}: {exc.strerror}") from exc
    blocks = raw.split(PEM_BEGIN)[1:]
    if len(blocks) > MAX_ANCHORS:
        # Loading only the first ones would judge a chain to a later anchor "untrusted" with
        # no hint why: the operator is told instead, before any connection.
        raise ConfigError(
            f"the TLS trust store {path} holds {len(blocks)} certificates, more than the "
            f"{MAX_ANCHORS} the check reads ({len(blocks) - MAX_ANCHORS} would be skipped): "
            "name a bundle of the anchors you mean"
        )
    anchors, skipped = [], 0
    # Block by block: one certificate the library cannot read must not lose the whole bundle.
    for block in blocks:
        try:
            with warnings.catch_warnings():
                # Old roots with a non-positive serial still load; that is the bundle's business.
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                anchors.append(x509.load_pem_x509_certificate(PEM_BEGIN + block))
        except ValueError:
            skipped += 1
    return anchors_of(anchors, path, skipped)
