"""An algorithm as an inventory describes it, resolved against the catalogue.

Inventories name algorithms loosely: cbomkit writes "AES128-GCM", "HMACSHA2", "EC-secp521r1",
"RSA-2048", or "AES" with the OID arc 2.16.840.1.101.3.4.1 and a parameterSetIdentifier of 128;
Java names compose ("SHA256withRSA", "PBEWithMD5AndDES"). Each is tried as the catalogue's id or
name, then without separators, then as a composite of algorithms, then as a family ("AES", "RSA",
"EC") followed by its size or curve. The OID and the name are resolved apart; when they disagree
the worse class is kept and the basis says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from pq_crypto.catalogue import (
    UNKNOWN,
    Algorithm,
    AlgorithmClass,
    AlgorithmIndex,
    Classification,
    Family,
    algorithm_index,
    compact,
    rsa_classification,
)

# Worst first: a composite or a disagreement keeps the first of these it meets.
CLASS_ORDER = (
    AlgorithmClass.CLASSICALLY_BROKEN,
    AlgorithmClass.QUANTUM_VULNERABLE,
    AlgorithmClass.UNKNOWN,
    AlgorithmClass.HYBRID,
    AlgorithmClass.QUANTUM_SAFE,
)
PUBLIC_KEY_USAGES = {"signature", "kem", "key-agreement"}

_SEPARATORS = re.compile(r"[\s_/-]+")
# "SHA256withRSA", "ecdsa-with-SHA1", "PBEWithMD5AndDES"; a word that merely contains "and"
# ("SecureRandom") splits into parts the catalogue does not know, and is left to later rules.
_COMPOSITE = re.compile(r"(?<=[a-z0-9])[-_]?(?:with|and)[-_]?(?=[a-z0-9])", re.IGNORECASE)
_NAME_AND_SIZE = re.compile(r"([a-z][a-z-]*?)-?([0-9]{1,6})", re.IGNORECASE)  # AES128, RSA2048


def worst(classifications: list[Classification]) -> Classification:
    return min(classifications, key=lambda c: CLASS_ORDER.index(c.algorithm_class))


@dataclass(frozen=True)
class Described:
    """What an inventory says of one algorithm; empty strings where it says nothing."""

    name: str = ""
    oid: str = ""
    parameter: str = ""  # CycloneDX parameterSetIdentifier: "128", "2048", "SHA2-128s"
    curve: str = ""


@dataclass(frozen=True)
class _Named:
    algorithm: Algorithm
    size: int | None = None
    curve: str | None = None
    sizable: bool = True  # whether a parameter set may pick the family member


def resolve(described: Described, index: AlgorithmIndex | None = None) -> Classification:
    return _resolve(described, index or algorithm_index())


@lru_cache(maxsize=4096)
def _resolve(described: Described, index: AlgorithmIndex) -> Classification:
    found = [c for c in (_by_oid(described, index), _by_name(described, index)) if c is not None]
    known = [c for c in found if c.algorithm_class is not AlgorithmClass.UNKNOWN]
    if not known:
        return replace(UNKNOWN, basis=_unknown_basis(described))
    chosen = worst(known)
    others = [c for c in known if c.algorithm_class is not chosen.algorithm_class]
    if others:
        said = "; ".join(f"{c.basis} says {c.algorithm_class}" for c in others)
        return replace(chosen, basis=f"{chosen.basis} ({said})")
    # Same class: keep the more specific (a size or a category), the OID on a tie.
    return max(known, key=lambda c: c.classical_bits is not None or c.nist_category is not None)


def with_key_size(classification: Classification, bits: int) -> Classification:
    """A family-level RSA classification made specific by a key's own size."""
    family = algorithm_index().families.get(classification.algorithm_id or "")
    if family is None or not family.modulus or classification.classical_bits is not None:
        return classification
    sized = rsa_classification(bits)
    return replace(sized, basis=f"{classification.basis}, key size {bits}")


def _unknown_basis(described: Described) -> str:
    said = [f"name {described.name!r}"] if described.name else []
    said += [f"OID {described.oid}"] if described.oid else []
    if not said:
        return "names no algorithm"
    return f"{' and '.join(said)}: not an algorithm the catalogue knows"


def _size(text: str) -> int | None:
    """A size written in ASCII digits ("²" is a digit to isdigit() and not to int()), of a
    length any key or parameter set has."""
    ok = text.isascii() and text.isdigit() and len(text) <= 6
    return int(text) if ok else None


def _member(
    named: _Named, described: Described, index: AlgorithmIndex, basis: str
) -> Classification:
    algorithm = named.algorithm
    family: Family | None = index.families.get(algorithm.id)
    if family is None:
        return index.classify(algorithm, basis)
    size = named.size or (_size(described.parameter) if named.sizable else None)
    curve = (named.curve or described.curve).lower()
    curves = {name.lower(): member for name, member in family.curves.items()}
    if family.modulus and size:
        return replace(rsa_classification(size), basis=f"{basis}, {size}-bit modulus")
    if size in family.sizes:
        return index.classify(index.get(family.sizes[size]), f"{basis}, size {size}")
    if curve in curves:
        return index.classify(index.get(curves[curve]), f"{basis}, curve {curve}")
    return index.classify(algorithm, f"{basis} (no size or curve says which {algorithm.id})")


def _by_oid(described: Described, index: AlgorithmIndex) -> Classification | None:
    oid = described.oid.strip()
    if not oid:
        return None
    algorithm = index.by_oid(oid)
    if algorithm is not None:
        family = index.families.get(algorithm.id)
        sizable = family is not None and oid in family.size_oids
        return _member(_Named(algorithm, sizable=sizable), described, index, f"OID {oid}")
    for arc, family in index.oid_arcs:
        if oid == arc or oid.startswith(f"{arc}."):
            named = _Named(index.get(family.algorithm))
            basis = f"OID arc {arc}" if oid == arc else f"OID {oid} (under {arc})"
            return _member(named, described, index, basis)
    return None


def _by_name(described: Described, index: AlgorithmIndex) -> Classification | None:
    name = described.name.strip()
    if not name:
        return None
    basis = f"name {name}"
    parameter = described.parameter.strip()
    if parameter and _size(parameter) is None:
        # "SLH-DSA" with parameter set "SHA2-128s" is SLH-DSA-SHA2-128s.
        joined = index.lookup(f"{name}-{parameter}")
        if joined is not None:
            return index.classify(joined, f"{basis}, parameter set {parameter}")
    named = _named(name, index)
    if named is not None:
        return _member(named, described, index, basis)
    composite = _composite(name, index)
    if composite is not None:
        return composite
    return _family_and_size(name, described, index)


def _named(text: str, index: AlgorithmIndex) -> _Named | None:
    algorithm = index.lookup(text)
    if algorithm is None:
        return None
    # A parameter set sizes the family only when the name is the family's own: in
    # "SHA512withRSA" it is the digest's 512, not the modulus.
    bare = compact(text) == compact(algorithm.id) or not any(ch.isdigit() for ch in text)
    return _Named(algorithm, sizable=bare)


def _composite(name: str, index: AlgorithmIndex) -> Classification | None:
    parts = [part for part in _COMPOSITE.split(name) if part]
    if len(parts) < 2:
        return None
    resolved = []
    for part in parts:
        named = _named(part, index) or _sized(part, index)
        resolved.append(_member(named, Described(), index, part) if named else None)
    known = [c for c in resolved if c is not None]
    public = [c for c in known if c.algorithm_id and _usage(c, index) in PUBLIC_KEY_USAGES]
    broken = [c for c in known if c.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN]
    if broken:
        # One broken part breaks the whole (SHA-1 under ECDSA, MD5 and DES under PBE), whatever
        # the parts nobody knows.
        chosen = public[0] if public else broken[0]
        basis = f"name {name}: {broken[0].basis} is classically broken"
        return replace(chosen, algorithm_class=AlgorithmClass.CLASSICALLY_BROKEN, basis=basis)
    if len(known) < len(resolved):
        return None
    chosen = public[0] if public else worst(known)
    return replace(chosen, algorithm_class=worst(known).algorithm_class, basis=f"name {name}")


def _sized(text: str, index: AlgorithmIndex) -> _Named | None:
    """ "RSA2048", "AES256": a family's name with its size run on."""
    match = _NAME_AND_SIZE.fullmatch(text)
    if match is None:
        return None
    algorithm = index.lookup(match[1])
    if algorithm is None or algorithm.id not in index.families:
        return None
    return _Named(algorithm, size=int(match[2]))


def _family_and_size(
    name: str, described: Described, index: AlgorithmIndex
) -> Classification | None:
    """ "AES128-CBC-PKCS5", "RSA-2048", "EC-secp521r1", "AES/GCM/NoPadding": the first word names
    the algorithm or its family, and a size or curve may follow it."""
    head, *rest = [token for token in _SEPARATORS.split(name) if token]
    named = _named(head, index) or _sized(head, index)
    if named is None:
        return None
    family = index.families.get(named.algorithm.id)
    follower = rest[0] if rest else ""
    if family is not None and named.size is None and follower:
        if _size(follower) is not None:
            named = replace(named, size=_size(follower))
        elif follower.lower() in {curve.lower() for curve in family.curves}:
            named = replace(named, curve=follower)
    return _member(named, described, index, f"name {name}")


def _usage(classification: Classification, index: AlgorithmIndex) -> str:
    return index.get(classification.algorithm_id or "").usage
