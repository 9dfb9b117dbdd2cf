"""What each backend calls an algorithm and how it encodes secret keys (data/backends.yaml)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pq_crypto.interface import SecretKeyFormatError

Usage = Literal["kems", "signatures"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LiboqsMapping(Strict):
    mechanisms: tuple[str, ...] = Field(min_length=1)
    predecessors: tuple[str, ...] = ()
    note: str | None = None


class LiboqsNames(Strict):
    kems: dict[str, LiboqsMapping]
    signatures: dict[str, LiboqsMapping]


class KeyBytes(Strict):
    seed: int = Field(gt=0)
    expanded: int = Field(gt=0)


class BackendData(Strict):
    version: str
    liboqs: LiboqsNames
    secret_key_forms: dict[str, Literal["seed", "expanded"]]
    secret_key_bytes: dict[str, KeyBytes]


@cache
def backend_data() -> BackendData:
    text = (resources.files("pq_crypto") / "data" / "backends.yaml").read_text("utf-8")
    return BackendData.model_validate(yaml.safe_load(text))


def liboqs_mapping(usage: Usage) -> dict[str, LiboqsMapping]:
    return getattr(backend_data().liboqs, usage)


def liboqs_algorithms(usage: Usage, enabled: Iterable[str]) -> dict[str, str]:
    """Name -> liboqs mechanism for what an installed liboqs enables: catalogue names where the
    data maps one, the mechanism's own name for the rest (HQC, a predecessor such as Kyber768)."""
    enabled = list(enabled)
    found: dict[str, str] = {}
    mapped: set[str] = set()
    for name, mapping in liboqs_mapping(usage).items():
        mapped.update(mapping.mechanisms)
        chosen = next((m for m in mapping.mechanisms if m in enabled), None)
        if chosen is not None:
            found[name] = chosen
    for mechanism in enabled:
        if mechanism not in mapped:
            found.setdefault(mechanism, mechanism)
    return found


def missing_from_liboqs(usage: Usage, name: str, enabled: Iterable[str]) -> str | None:
    """Why an installed liboqs does not give `name`, or None if the data does not map it."""
    mapping = liboqs_mapping(usage).get(name)
    if mapping is None:
        return None
    enabled = set(enabled)
    reason = f"this liboqs does not enable {' or '.join(mapping.mechanisms)}"
    offered = [p for p in mapping.predecessors if p in enabled]
    if offered:
        reason += (
            f"; it offers {', '.join(offered)}, the pre-standard scheme, whose keys and "
            f"outputs differ from {name}, so it is not used in its place"
        )
    reason += "; build a liboqs that has it (README: liboqs)"
    return reason


def expected_secret_key_bytes(backend: str, algorithm: str) -> int | None:
    data = backend_data()
    form = data.secret_key_forms.get(backend)
    sizes = data.secret_key_bytes.get(algorithm)
    return None if form is None or sizes is None else getattr(sizes, form)


def wrong_secret_key(
    backend: str, algorithm: str, given: int, expected: int
) -> SecretKeyFormatError:
    """The error for a secret key of the wrong length, naming the backend whose form it is."""
    data = backend_data()
    form = data.secret_key_forms.get(backend, "native")
    sizes = data.secret_key_bytes.get(algorithm)
    for other, other_form in data.secret_key_forms.items():
        if other != backend and sizes is not None and getattr(sizes, other_form) == given:
            return SecretKeyFormatError(
                f"this {algorithm} secret key is {given} bytes: the {other_form} form that the "
                f"{other} backend makes and uses. The {backend} backend takes the {expected}-byte "
                f"{form} form. A key made by one backend cannot be used by the other: use "
                f"{other} for this key, or make a new key pair with {backend}"
            )
    return SecretKeyFormatError(
        f"the {backend} backend takes a {expected}-byte {algorithm} secret key "
        f"({form} form), not {given} bytes"
    )
