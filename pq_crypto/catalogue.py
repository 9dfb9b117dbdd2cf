"""The algorithm policy catalogue (data/algorithms.yaml): classes, identifiers, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.data_yaml import load_data_yaml


class AlgorithmClass(StrEnum):
    QUANTUM_SAFE = "quantum-safe"
    HYBRID = "hybrid"
    QUANTUM_VULNERABLE = "quantum-vulnerable"
    CLASSICALLY_BROKEN = "classically-broken"
    UNKNOWN = "unknown"


class Strict(BaseModel):
    # Built on first use: most processes that import the catalogue's types (the command line,
    # a page) never read the catalogue itself.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Source(Strict):
    title: str
    published: date


class Milestone(Strict):
    id: str
    date: date
    title: str
    source: str


class DeadlineScope(Strict):
    # `class` is a keyword, hence the alias.
    algorithm_class: AlgorithmClass = Field(alias="class")
    max_classical_bits: int | None = None
    usage: str | None = None


class Deadline(Strict):
    id: str
    date: date
    applies_to: DeadlineScope
    title: str
    source: str


class Algorithm(Strict):
    id: str
    usage: str
    algorithm_class: AlgorithmClass = Field(alias="class")
    nist_category: int | None = Field(default=None, ge=1, le=5)
    classical_bits: int | None = None
    obsolete: bool = False
    oids: list[str] = Field(default_factory=list)
    tls_groups: list[int] = Field(default_factory=list)
    tls_sigschemes: list[int] = Field(default_factory=list)
    ssh_names: list[str] = Field(default_factory=list)
    jose_algs: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    source: str


class Family(Strict):
    """A name or OID that says which algorithm only once a size or a curve is known: a CBOM writes
    "AES" with the OID arc 2.16.840.1.101.3.4.1 and parameterSetIdentifier 128, or "EC" with curve
    secp384r1. `algorithm` is the family's own entry, taken when nothing picks a member, so every
    member must share its class."""

    algorithm: str
    oid_arcs: list[str] = Field(default_factory=list)  # OIDs under which every member sits
    size_oids: list[str] = Field(default_factory=list)  # OIDs whose parameter set is a key size
    sizes: dict[int, str] = Field(default_factory=dict)  # member by key or parameter size
    curves: dict[str, str] = Field(default_factory=dict)  # member by curve name
    # The size is an RSA modulus: its strength follows NIST SP 800-57 (rsa_classification).
    modulus: bool = False


class Curve(Strict):
    """An elliptic curve keys are made on: how certificates (its OID, cryptography's name), JSON
    Web Keys (`jose_crv`) and inventories name it, its field size, and the catalogue algorithms a
    key on it is classified as. The one table of curves: the checks derive theirs from it."""

    name: str  # OpenSSL's and cryptography's name: secp256r1
    aliases: list[str] = Field(default_factory=list)  # prime256v1, nistp256 (SSH)
    oid: str  # the namedCurve OID in a SubjectPublicKeyInfo
    jose_crv: str | None = None  # RFC 7518 §6.2.1.1, RFC 8812; None: no JOSE name
    bits: int = Field(gt=0)  # the field size: 521 for P-521, which sizes JWK coordinates
    signature: str  # the algorithm a signing key on this curve is
    key_agreement: str | None = None  # the algorithm an ECDH key on this curve is

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases, *([self.jose_crv] if self.jose_crv else [])]


class Catalogue(Strict):
    version: str
    sources: dict[str, Source]
    milestones: list[Milestone]
    deadlines: list[Deadline]
    families: list[Family] = Field(default_factory=list)
    curves: list[Curve] = Field(default_factory=list)
    algorithms: list[Algorithm]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        seen: dict[str, str] = {}
        for algorithm in self.algorithms:
            if algorithm.source not in self.sources:
                raise ValueError(f"{algorithm.id}: unknown source {algorithm.source}")
            keys = (
                [f"id:{algorithm.id.lower()}"]
                + [f"oid:{o}" for o in algorithm.oids]
                + [f"tls:{g}" for g in algorithm.tls_groups]
                + [f"ssh:{n}" for n in algorithm.ssh_names]
            )
            for key in keys:
                if key in seen:
                    raise ValueError(f"{key} is claimed by both {seen[key]} and {algorithm.id}")
                seen[key] = algorithm.id
        for item in [*self.milestones, *self.deadlines]:
            if item.source not in self.sources:
                raise ValueError(f"{item.id}: unknown source {item.source}")
        self._families_consistent()
        self._curves_consistent()
        return self

    def _curves_consistent(self) -> None:
        by_id = {algorithm.id: algorithm for algorithm in self.algorithms}
        oid_owner = {oid: algorithm.id for algorithm in self.algorithms for oid in algorithm.oids}
        seen: dict[str, str] = {}
        for curve in self.curves:
            uses = [(curve.signature, "signature"), (curve.key_agreement, "key-agreement")]
            for algorithm_id, usage in uses:
                if algorithm_id is None:
                    continue
                if algorithm_id not in by_id:
                    raise ValueError(f"curve {curve.name}: no algorithm {algorithm_id}")
                if by_id[algorithm_id].usage != usage:
                    raise ValueError(f"curve {curve.name}: {algorithm_id} is not a {usage}")
            owner = oid_owner.get(curve.oid)
            if owner is not None and owner not in (curve.signature, curve.key_agreement):
                raise ValueError(f"curve {curve.name}: its OID {curve.oid} is {owner}'s")
            for key in [f"oid:{curve.oid}", *(f"name:{n.lower()}" for n in curve.names)]:
                if seen.get(key, curve.name) != curve.name:
                    raise ValueError(f"{key} names both curve {seen[key]} and {curve.name}")
                seen[key] = curve.name
        # A family member picked by curve name (a CBOM's "EC" with curve P-256) must be one of
        # the algorithms the curve table gives that curve, or the two tables would disagree.
        by_name = {n.lower(): c for c in self.curves for n in c.names}
        for family in self.families:
            for name, member in family.curves.items():
                curve = by_name.get(name.lower())
                if curve is not None and member not in (curve.signature, curve.key_agreement):
                    raise ValueError(
                        f"family {family.algorithm}: curve {name} is {member}, the curve table"
                        f" says {curve.signature} or {curve.key_agreement}"
                    )

    def _families_consistent(self) -> None:
        by_id = {algorithm.id: algorithm for algorithm in self.algorithms}
        for family in self.families:
            head = by_id.get(family.algorithm)
            if head is None:
                raise ValueError(f"family {family.algorithm}: no algorithm with that id")
            for member in [*family.sizes.values(), *family.curves.values()]:
                if member not in by_id:
                    raise ValueError(f"family {family.algorithm}: no algorithm {member}")
                if by_id[member].algorithm_class != head.algorithm_class:
                    # The family's own entry stands for a member nobody named, so it must not
                    # be safer than any member.
                    raise ValueError(
                        f"family {family.algorithm}: {member} is {by_id[member].algorithm_class},"
                        f" the family {head.algorithm_class}"
                    )


@dataclass(frozen=True)
class Classification:
    algorithm_id: str | None
    algorithm_class: AlgorithmClass
    nist_category: int | None = None
    classical_bits: int | None = None
    obsolete: bool = False
    basis: str = ""

    @property
    def quantum_resistant(self) -> bool:
        return self.algorithm_class in {AlgorithmClass.QUANTUM_SAFE, AlgorithmClass.HYBRID}


UNKNOWN = Classification(None, AlgorithmClass.UNKNOWN, basis="not in the catalogue")


def compact(name: str) -> str:
    """A name without case or separators: "AES-128-GCM", "aes_128_gcm" and "AES128GCM" agree."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


class AlgorithmIndex:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._by: dict[str, Algorithm] = {}
        for algorithm in catalogue.algorithms:
            self._by[f"id:{algorithm.id.lower()}"] = algorithm
            for name in algorithm.names:
                self._by.setdefault(f"name:{name.lower()}", algorithm)
            for name in [algorithm.id, *algorithm.names]:
                self._by.setdefault(f"compact:{compact(name)}", algorithm)
            for oid in algorithm.oids:
                self._by[f"oid:{oid}"] = algorithm
            for group in algorithm.tls_groups:
                self._by[f"tls:{group}"] = algorithm
            for name in algorithm.ssh_names:
                self._by[f"ssh:{name}"] = algorithm
            for alg in algorithm.jose_algs:
                self._by[f"jose:{alg}"] = algorithm

        self.families = {family.algorithm: family for family in catalogue.families}
        self._curves: dict[str, Curve] = {}
        for curve in catalogue.curves:
            self._curves[f"oid:{curve.oid}"] = curve
            for name in curve.names:
                self._curves[f"name:{name.lower()}"] = curve
        self.oid_arcs = [(arc, f) for f in catalogue.families for arc in f.oid_arcs]

    @staticmethod
    def _classify(algorithm: Algorithm | None, basis: str) -> Classification:
        if algorithm is None:
            return UNKNOWN
        return Classification(
            algorithm.id,
            algorithm.algorithm_class,
            algorithm.nist_category,
            algorithm.classical_bits,
            algorithm.obsolete,
            basis,
        )

    def get(self, algorithm_id: str) -> Algorithm:
        return self._by[f"id:{algorithm_id.lower()}"]

    def tls_group(self, code: int) -> Classification:
        return self._classify(self._by.get(f"tls:{code}"), f"TLS group 0x{code:04X}")

    def ssh(self, name: str) -> Classification:
        return self._classify(self._by.get(f"ssh:{name}"), f"SSH algorithm {name}")

    def oid(self, oid: str) -> Classification:
        return self._classify(self._by.get(f"oid:{oid}"), f"OID {oid}")

    def jose(self, alg: str) -> Classification:
        return self._classify(self._by.get(f"jose:{alg}"), f"JOSE alg {alg}")

    def name(self, name: str) -> Classification:
        key = name.strip().lower()
        algorithm = self._by.get(f"id:{key}") or self._by.get(f"name:{key}")
        return self._classify(algorithm, f"name {name}")

    def classify(self, algorithm: Algorithm, basis: str) -> Classification:
        return self._classify(algorithm, basis)

    def lookup(self, name: str) -> Algorithm | None:
        """The algorithm a name is the id or a name of, ignoring case, then also separators."""
        key = name.strip().lower()
        return (
            self._by.get(f"id:{key}")
            or self._by.get(f"name:{key}")
            or self._by.get(f"compact:{compact(key)}")
        )

    def by_oid(self, oid: str) -> Algorithm | None:
        return self._by.get(f"oid:{oid}")

    def curve(self, name: str) -> Curve | None:
        """The curve a name (any of OpenSSL's, NIST's or JOSE's, ignoring case) stands for."""
        return self._curves.get(f"name:{name.strip().lower()}")

    def curve_by_oid(self, oid: str) -> Curve | None:
        return self._curves.get(f"oid:{oid}")

    def curves(self) -> list[Curve]:
        return list(self.catalogue.curves)

    def tls_groups(self) -> dict[int, Algorithm]:
        return {g: a for a in self.catalogue.algorithms for g in a.tls_groups}

    def deadlines_for(
        self, classification: Classification, usage: str | None = None
    ) -> list[Deadline]:
        found = []
        for deadline in self.catalogue.deadlines:
            scope = deadline.applies_to
            if scope.algorithm_class != classification.algorithm_class:
                continue
            if scope.usage is not None and scope.usage != usage:
                continue
            bits = classification.classical_bits
            if scope.max_classical_bits is not None and (
                bits is None or bits > scope.max_classical_bits
            ):
                continue
            found.append(deadline)
        return found


def rsa_classification(bits: int) -> Classification:
    """RSA strength by modulus size (NIST SP 800-57 equivalences)."""
    if bits < 2048:
        return Classification(
            "RSA", AlgorithmClass.CLASSICALLY_BROKEN, classical_bits=80, basis=f"RSA-{bits}"
        )
    strength = 112 if bits < 3072 else 128 if bits < 7680 else 192 if bits < 15360 else 256
    return Classification(
        "RSA", AlgorithmClass.QUANTUM_VULNERABLE, classical_bits=strength, basis=f"RSA-{bits}"
    )


@cache
def algorithm_index() -> AlgorithmIndex:
    text = (Path(__file__).resolve().parent / "data" / "algorithms.yaml").read_text("utf-8")
    return AlgorithmIndex(Catalogue.model_validate(load_data_yaml(text)))
