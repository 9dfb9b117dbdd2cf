"""The optional liboqs backend (liboqs-python), for SLH-DSA, Falcon, HQC, ML-KEM-512 and more.

Importing `oqs` without the liboqs C library makes liboqs-python try to download and build it,
which must never happen here: the library is located first and `oqs` is imported only if found.
"""

from __future__ import annotations

import ctypes.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pq_crypto.interface import Encapsulation, KeyPair

BACKEND = "liboqs"


def _candidate_paths() -> list[Path]:
    roots = [os.environ.get("OQS_INSTALL_PATH"), str(Path.home() / "_oqs"), "/usr/local", "/usr"]
    found = []
    for root in filter(None, roots):
        for sub in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            for name in ("liboqs.so", "liboqs.dylib"):
                path = Path(root) / sub / name
                if path.exists():
                    found.append(path)
    return found


@cache
def liboqs_location() -> str | None:
    """Where the liboqs shared library is, or None; never triggers a download."""
    paths = _candidate_paths()
    if paths:
        return str(paths[0])
    return ctypes.util.find_library("oqs")


def unavailable_reason() -> str | None:
    if liboqs_location() is None:
        return (
            "the liboqs C library is not installed (liboqs-python needs it; "
            "it cannot be downloaded here)"
        )
    try:
        import oqs  # noqa: F401
    # liboqs-python raises plain errors (not ImportError) on a broken install.
    except Exception as exc:
        return f"liboqs-python cannot load liboqs: {exc}"
    return None


def _oqs() -> Any:
    if unavailable_reason() is not None:
        raise RuntimeError(unavailable_reason())
    import oqs

    return oqs


@dataclass(frozen=True)
class OqsKem:
    name: str
    backend: str = BACKEND

    def generate_keypair(self) -> KeyPair:
        with _oqs().KeyEncapsulation(self.name) as kem:
            public = kem.generate_keypair()
            return KeyPair(bytes(public), bytes(kem.export_secret_key()))

    def encapsulate(self, public_key: bytes) -> Encapsulation:
        with _oqs().KeyEncapsulation(self.name) as kem:
            ciphertext, shared = kem.encap_secret(public_key)
            return Encapsulation(bytes(ciphertext), bytes(shared))

    def decapsulate(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        with _oqs().KeyEncapsulation(self.name, secret_key) as kem:
            return bytes(kem.decap_secret(ciphertext))


@dataclass(frozen=True)
class OqsSignature:
    name: str
    backend: str = BACKEND

    def generate_keypair(self) -> KeyPair:
        with _oqs().Signature(self.name) as signer:
            public = signer.generate_keypair()
            return KeyPair(bytes(public), bytes(signer.export_secret_key()))

    def sign(self, secret_key: bytes, message: bytes) -> bytes:
        with _oqs().Signature(self.name, secret_key) as signer:
            return bytes(signer.sign(message))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        with _oqs().Signature(self.name) as verifier:
            return bool(verifier.verify(message, signature, public_key))


def kems() -> dict[str, OqsKem]:
    if unavailable_reason() is not None:
        return {}
    return {name: OqsKem(name) for name in _oqs().get_enabled_kem_mechanisms()}


def signatures() -> dict[str, OqsSignature]:
    if unavailable_reason() is not None:
        return {}
    return {name: OqsSignature(name) for name in _oqs().get_enabled_sig_mechanisms()}
