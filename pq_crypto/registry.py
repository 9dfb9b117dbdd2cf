"""Pick an implementation by algorithm name: the default backend first, liboqs for the rest."""

from __future__ import annotations

from pq_crypto import backend_cryptography, backend_oqs
from pq_crypto.interface import Kem, Signature, UnsupportedAlgorithm


def available_kems() -> dict[str, list[Kem]]:
    found: dict[str, list[Kem]] = {}
    for backend in (backend_cryptography.kems(), backend_oqs.kems()):
        for name, implementation in backend.items():
            found.setdefault(name, []).append(implementation)
    return found


def available_signatures() -> dict[str, list[Signature]]:
    found: dict[str, list[Signature]] = {}
    for backend in (backend_cryptography.signatures(), backend_oqs.signatures()):
        for name, implementation in backend.items():
            found.setdefault(name, []).append(implementation)
    return found


def kem(name: str, backend: str | None = None) -> Kem:
    for implementation in available_kems().get(name, []):
        if backend is None or implementation.backend == backend:
            return implementation
    raise UnsupportedAlgorithm(f"no installed backend provides the KEM {name}")


def signature(name: str, backend: str | None = None) -> Signature:
    for implementation in available_signatures().get(name, []):
        if backend is None or implementation.backend == backend:
            return implementation
    raise UnsupportedAlgorithm(f"no installed backend provides the signature {name}")
