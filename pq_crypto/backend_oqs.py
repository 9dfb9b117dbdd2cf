"""The optional liboqs backend (liboqs-python): SLH-DSA, FN-DSA (Falcon), ML-KEM-512, HQC and more.

liboqs is found and loaded by `liboqs_loader`, once per process and never downloaded. Algorithms
are offered under the catalogue's names (data/backends.yaml maps them to liboqs's mechanism
names, which change between liboqs versions). Secret keys are liboqs's own: for ML-KEM and ML-DSA
the expanded FIPS 203/204 key, not the seed the `cryptography` backend keeps, so a key made by
one backend is refused by the other with a SecretKeyFormatError that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pq_crypto.backend_names import (
    Usage,
    liboqs_algorithms,
    liboqs_mapping,
    missing_from_liboqs,
    wrong_secret_key,
)
from pq_crypto.interface import BackendStatus, Encapsulation, KeyPair, UnsupportedAlgorithm
from pq_crypto.liboqs_loader import liboqs_status

BACKEND = "liboqs"


def unavailable_reason() -> str | None:
    """Why liboqs cannot be used in this process, or None; probes once, never downloads."""
    status = liboqs_status()
    return None if status.available else status.describe()


def status() -> BackendStatus:
    current = liboqs_status()
    return BackendStatus(BACKEND, current.available, current.describe())


def _oqs() -> Any:
    current = liboqs_status()
    if current.module is None:
        raise UnsupportedAlgorithm(f"the liboqs backend is unavailable: {current.describe()}")
    return current.module


def _check_length(what: str, given: bytes, expected: int, name: str) -> None:
    if len(given) != expected:
        raise ValueError(f"a {name} {what} is {expected} bytes, not {len(given)}")


@dataclass(frozen=True)
class OqsKem:
    name: str
    mechanism: str  # liboqs's name for it
    backend: str = BACKEND
    note: str | None = None  # a caveat from data/backends.yaml, e.g. a draft standard

    def generate_keypair(self) -> KeyPair:
        with _oqs().KeyEncapsulation(self.mechanism) as kem:
            public = kem.generate_keypair()
            return KeyPair(bytes(public), bytes(kem.export_secret_key()))

    def encapsulate(self, public_key: bytes) -> Encapsulation:
        with _oqs().KeyEncapsulation(self.mechanism) as kem:
            _check_length("public key", public_key, kem.length_public_key, self.name)
            ciphertext, shared = kem.encap_secret(public_key)
            return Encapsulation(bytes(ciphertext), bytes(shared))

    def decapsulate(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        with _oqs().KeyEncapsulation(self.mechanism) as kem:
            expected = kem.length_secret_key
            _check_length("ciphertext", ciphertext, kem.length_ciphertext, self.name)
        if len(secret_key) != expected:
            raise wrong_secret_key(BACKEND, self.name, len(secret_key), expected)
        with _oqs().KeyEncapsulation(self.mechanism, secret_key) as kem:
            return bytes(kem.decap_secret(ciphertext))


@dataclass(frozen=True)
class OqsSignature:
    name: str
    mechanism: str  # liboqs's name for it
    backend: str = BACKEND
    note: str | None = None  # a caveat from data/backends.yaml, e.g. a draft standard

    def generate_keypair(self) -> KeyPair:
        with _oqs().Signature(self.mechanism) as signer:
            public = signer.generate_keypair()
            return KeyPair(bytes(public), bytes(signer.export_secret_key()))

    def sign(self, secret_key: bytes, message: bytes) -> bytes:
        with _oqs().Signature(self.mechanism) as signer:
            expected = signer.length_secret_key
        # liboqs-python pads a short key with zeros and signs with it: check first.
        if len(secret_key) != expected:
            raise wrong_secret_key(BACKEND, self.name, len(secret_key), expected)
        with _oqs().Signature(self.mechanism, secret_key) as signer:
            return bytes(signer.sign(message))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        with _oqs().Signature(self.mechanism) as verifier:
            if len(public_key) != verifier.length_public_key:
                return False
            if not signature or len(signature) > verifier.length_signature:
                return False
            return bool(verifier.verify(message, signature, public_key))


@cache
def _offered(usage: Usage) -> dict[str, str]:
    """Catalogue or liboqs name -> mechanism, for what this process's liboqs enables (fixed for
    the life of the process, like the probe)."""
    module = liboqs_status().module
    if module is None:
        return {}
    enabled = (
        module.get_enabled_kem_mechanisms()
        if usage == "kems"
        else module.get_enabled_sig_mechanisms()
    )
    return liboqs_algorithms(usage, enabled)


def _note(usage: Usage, name: str) -> str | None:
    mapping = liboqs_mapping(usage).get(name)
    return mapping.note if mapping else None


def kems() -> dict[str, OqsKem]:
    return {n: OqsKem(n, m, note=_note("kems", n)) for n, m in _offered("kems").items()}


def signatures() -> dict[str, OqsSignature]:
    offered = _offered("signatures")
    return {n: OqsSignature(n, m, note=_note("signatures", n)) for n, m in offered.items()}


def why_not(usage: Usage, name: str) -> str | None:
    """Why liboqs does not give `name` here, for the registry's refusal; None if it does."""
    current = liboqs_status()
    if current.module is None:
        if name in liboqs_mapping(usage):
            return f"it needs the liboqs backend, which is unavailable: {current.describe()}"
        return f"the liboqs backend is unavailable: {current.describe()}"
    if name in _offered(usage):
        return None
    enabled = _offered(usage).values()
    missing = missing_from_liboqs(usage, name, enabled)
    return f"{current.describe()}: {missing}" if missing else None
