"""The algorithm policy catalogue (data/algorithms.yaml): classes, identifiers, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class AlgorithmClass(StrEnum):
    QUANTUM_SAFE = "quantum-safe"
    HYBRID = "hybrid"
    QUANTUM_VULNERABLE = "quantum-vulnerable"
    CLASSICALLY_BROKEN = "classically-broken"
    UNKNOWN = "unknown"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Catalogue(Strict):
    version: str
    sources: dict[str, Source]
    milestones: list[Milestone]
    deadlines: list[Deadline]
    families: list[Family] = Field(default_factory=list)
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
        return self

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
    text = (resources.files("pq_crypto") / "data" / "algorithms.yaml").read_text("utf-8")
    return AlgorithmIndex(Catalogue.model_validate(yaml.safe_load(text)))
