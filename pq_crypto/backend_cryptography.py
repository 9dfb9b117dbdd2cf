"""The default backend: `cryptography` (OpenSSL 4 inside) for ML-KEM-768/1024 and ML-DSA-44/65/87.

Keys travel as raw bytes (FIPS 203/204 encodings): ML-KEM secret keys as the 64-byte seed, ML-DSA
secret keys as the 32-byte seed, which is what `cryptography` exports as raw private bytes. A key
of another length (liboqs's expanded form) is refused with a SecretKeyFormatError saying whose
form it is (data/backends.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

from pq_crypto.backend_names import expected_secret_key_bytes, wrong_secret_key
from pq_crypto.interface import BackendStatus, Encapsulation, KeyPair

BACKEND = "cryptography"


def _private_key(private_class: Any, name: str, secret_key: bytes) -> Any:
    expected = expected_secret_key_bytes(BACKEND, name)
    if expected is not None and len(secret_key) != expected:
        raise wrong_secret_key(BACKEND, name, len(secret_key), expected)
    return private_class.from_seed_bytes(secret_key)


_KEMS: dict[str, tuple[Any, Any]] = {
    "ML-KEM-768": (mlkem.MLKEM768PrivateKey, mlkem.MLKEM768PublicKey),
    "ML-KEM-1024": (mlkem.MLKEM1024PrivateKey, mlkem.MLKEM1024PublicKey),
}
_SIGNATURES: dict[str, tuple[Any, Any]] = {
    "ML-DSA-44": (mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey),
    "ML-DSA-65": (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey),
    "ML-DSA-87": (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey),
}


@dataclass(frozen=True)
class CryptographyKem:
    name: str
    backend: str = BACKEND

    def _classes(self) -> tuple[Any, Any]:
        return _KEMS[self.name]

    def generate_keypair(self) -> KeyPair:
        private = self._classes()[0].generate()
        return KeyPair(private.public_key().public_bytes_raw(), private.private_bytes_raw())

    def encapsulate(self, public_key: bytes) -> Encapsulation:
        shared, ciphertext = self._classes()[1].from_public_bytes(public_key).encapsulate()
        return Encapsulation(ciphertext=ciphertext, shared_secret=shared)

    def decapsulate(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        return _private_key(self._classes()[0], self.name, secret_key).decapsulate(ciphertext)


@dataclass(frozen=True)
class CryptographySignature:
    name: str
    backend: str = BACKEND

    def _classes(self) -> tuple[Any, Any]:
        return _SIGNATURES[self.name]

    def generate_keypair(self) -> KeyPair:
        private = self._classes()[0].generate()
        return KeyPair(private.public_key().public_bytes_raw(), private.private_bytes_raw())

    def sign(self, secret_key: bytes, message: bytes) -> bytes:
        return _private_key(self._classes()[0], self.name, secret_key).sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        try:
            self._classes()[1].from_public_bytes(public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def kems() -> dict[str, CryptographyKem]:
    return {name: CryptographyKem(name) for name in _KEMS}


def signatures() -> dict[str, CryptographySignature]:
    return {name: CryptographySignature(name) for name in _SIGNATURES}


def status() -> BackendStatus:
    names = ", ".join([*_KEMS, *_SIGNATURES])
    version = f"cryptography {cryptography.__version__} ({backend.openssl_version_text()})"
    return BackendStatus(BACKEND, True, f"{version} provides {names}")
