"""The interface every backend implements: KEMs and signatures, by algorithm name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class UnsupportedAlgorithm(ValueError):
    """No installed backend implements the algorithm."""


class SecretKeyFormatError(ValueError):
    """A secret key in a form this backend does not take, typically one another backend made:
    `cryptography` keeps ML-KEM/ML-DSA secret keys as the FIPS seed, liboqs as the expanded key."""


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can be used in this process, and why not."""

    name: str
    available: bool
    detail: str


@dataclass(frozen=True)
class KeyPair:
    public_key: bytes
    secret_key: bytes


@dataclass(frozen=True)
class Encapsulation:
    ciphertext: bytes
    shared_secret: bytes


class Kem(Protocol):
    name: str
    backend: str

    def generate_keypair(self) -> KeyPair: ...

    def encapsulate(self, public_key: bytes) -> Encapsulation: ...

    def decapsulate(self, secret_key: bytes, ciphertext: bytes) -> bytes: ...


class Signature(Protocol):
    name: str
    backend: str

    def generate_keypair(self) -> KeyPair: ...

    def sign(self, secret_key: bytes, message: bytes) -> bytes: ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...
