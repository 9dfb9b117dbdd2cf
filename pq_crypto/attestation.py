"""Signed attestations: a file's SHA-256 signed with Ed25519 and ML-DSA-65; both must verify.

The bundle is self-contained JSON, so anyone can verify it offline with the public keys in it,
and compare those keys' fingerprint with the one the platform publishes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel.files import create_once
from pq_crypto.registry import signature

SCHEME = "hybrid-ed25519-mldsa65/v1"
PQ_ALGORITHM = "ML-DSA-65"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: only the one encoding _b64 writes. Base64 can spell the same bytes more than one
    way (unused low bits of the last character), and a signed document whose signature reads
    the same after a byte changed would let a verifier accept a file that is not the one signed."""
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data


def _fingerprint(ed_public: bytes, pq_public: bytes) -> str:
    return hashlib.sha256(ed_public + pq_public).hexdigest()


@dataclass(frozen=True)
class PublicKeys:
    """The platform's public keys as it publishes them, for verifiers to pin offline."""

    ed25519: bytes
    ml_dsa_65: bytes

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self.ed25519, self.ml_dsa_65)

    def document(self) -> dict[str, str]:
        return {
            "scheme": SCHEME,
            "ed25519": _b64(self.ed25519),
            "ml_dsa_65": _b64(self.ml_dsa_65),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_document(cls, document: object) -> PublicKeys:
        """Read a published keys document; ValueError when it is not one, or when its stated
        fingerprint is not its keys' own."""
        if not isinstance(document, dict) or document.get("scheme") != SCHEME:
            raise ValueError(f"not a {SCHEME} public keys document")
        try:
            keys = cls(_unb64(document["ed25519"]), _unb64(document["ml_dsa_65"]))
            Ed25519PublicKey.from_public_bytes(keys.ed25519)
        except (AttributeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a public keys document: {exc}") from None
        if document.get("fingerprint") != keys.fingerprint:
            raise ValueError("the keys document's fingerprint is not that of its keys")
        return keys


@dataclass(frozen=True)
class AttestationKeys:
    ed25519: Ed25519PrivateKey
    mldsa_public: bytes
    mldsa_secret: bytes

    def public(self) -> PublicKeys:
        return PublicKeys(
            self.ed25519.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            ),
            self.mldsa_public,
        )

    @property
    def fingerprint(self) -> str:
        return self.public().fingerprint


def _new_keys_document() -> bytes:
    pq = signature(PQ_ALGORITHM).generate_keypair()
    ed = Ed25519PrivateKey.generate()
    document = {
        "ed25519_private": _b64(ed.private_bytes_raw()),
        "mldsa65_public": _b64(pq.public_key),
        "mldsa65_secret": _b64(pq.secret_key),
    }
    return json.dumps(document).encode()


def load_or_create_keys(folder: Path) -> AttestationKeys:
    """Keys live in the data directory, readable only by their owner."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "attestation-keys.json"
    create_once(path, _new_keys_document)
    document = json.loads(path.read_text())
    return AttestationKeys(
        Ed25519PrivateKey.from_private_bytes(_unb64(document["ed25519_private"])),
        _unb64(document["mldsa65_public"]),
        _unb64(document["mldsa65_secret"]),
    )


def _statement(digest: str, name: str, signed_at: str, ed_public: bytes, pq_public: bytes) -> bytes:
    """The exact bytes both algorithms sign: canonical JSON of what is attested. Both public
    keys are in it, so neither signature can be swapped for one made with another key."""
    document = {
        "scheme": SCHEME,
        "sha256": digest,
        "name": name,
        "signed_at": signed_at,
        "ed25519": _b64(ed_public),
        "ml_dsa_65": _b64(pq_public),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def sign_bytes(data: bytes, name: str, keys: AttestationKeys) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    signed_at = datetime.now(UTC).isoformat(timespec="seconds")
    public = keys.ed25519.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    statement = _statement(digest, name, signed_at, public, keys.mldsa_public)
    return {
        "scheme": SCHEME,
        "name": name,
        "sha256": digest,
        "signed_at": signed_at,
        "ed25519": {"public_key": _b64(public), "signature": _b64(keys.ed25519.sign(statement))},
        "ml_dsa_65": {
            "public_key": _b64(keys.mldsa_public),
            "signature": _b64(signature(PQ_ALGORITHM).sign(keys.mldsa_secret, statement)),
        },
        "key_fingerprint": keys.fingerprint,
    }


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    key_fingerprint: str | None = None


def verify_bytes(data: bytes, bundle: dict[str, Any]) -> Verification:
    try:
        if bundle.get("scheme") != SCHEME:
            return Verification(False, f"unknown scheme {bundle.get('scheme')!r}")
        digest = hashlib.sha256(data).hexdigest()
        if digest != bundle["sha256"]:
            return Verification(False, "the file does not match the attested SHA-256")
        ed_public = _unb64(bundle["ed25519"]["public_key"])
        pq_public = _unb64(bundle["ml_dsa_65"]["public_key"])
        statement = _statement(digest, bundle["name"], bundle["signed_at"], ed_public, pq_public)
        try:
            Ed25519PublicKey.from_public_bytes(ed_public).verify(
                _unb64(bundle["ed25519"]["signature"]), statement
            )
        except InvalidSignature:
            return Verification(False, "the Ed25519 signature does not verify")
        if not signature(PQ_ALGORITHM).verify(
            pq_public, statement, _unb64(bundle["ml_dsa_65"]["signature"])
        ):
            return Verification(False, "the ML-DSA-65 signature does not verify")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return Verification(False, f"malformed signature bundle: {exc}")
    return Verification(True, "both signatures verify", _fingerprint(ed_public, pq_public))
