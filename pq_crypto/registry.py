"""Pick an implementation by algorithm name: the default backend first, liboqs for the rest.

A name no backend provides is refused with the reason: liboqs unavailable (and why), or this
liboqs lacking the mechanism. Secret keys do not move between backends (see backend_names), so
code that keeps a secret key should keep using the backend that made it.
"""

from __future__ import annotations

from pq_crypto import backend_cryptography, backend_oqs
from pq_crypto.interface import BackendStatus, Kem, Signature, UnsupportedAlgorithm


def backend_statuses() -> list[BackendStatus]:
    """Each backend, whether it can be used here, and why not (one line each)."""
    return [backend_cryptography.status(), backend_oqs.status()]


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


def _refusal(kind: str, name: str, backend: str | None, oqs_reason: str | None) -> str:
    if backend:
        message = f"the {backend} backend does not provide the {kind} {name}"
    else:
        message = f"no installed backend provides the {kind} {name}"
    if oqs_reason and backend in (None, backend_oqs.BACKEND):
        message += f": {oqs_reason}"
    return message


def kem(name: str, backend: str | None = None) -> Kem:
    for implementation in available_kems().get(name, []):
        if backend is None or implementation.backend == backend:
            return implementation
    reason = backend_oqs.why_not("kems", name)
    raise UnsupportedAlgorithm(_refusal("KEM", name, backend, reason))


def signature(name: str, backend: str | None = None) -> Signature:
    for implementation in available_signatures().get(name, []):
        if backend is None or implementation.backend == backend:
            return implementation
    reason = backend_oqs.why_not("signatures", name)
    raise UnsupportedAlgorithm(_refusal("signature", name, backend, reason))
