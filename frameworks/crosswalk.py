"""Crosswalks between PTSbD and an upstream catalogue, and the coverage they imply."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field, model_validator

from frameworks.schema import Framework, Identifier, Strict, Text


class Relationship(StrEnum):
    """Set-theory relationships (as in NIST OLIR): "source <relationship> target"."""

    EQUAL = "equal"
    SUBSET_OF = "subset-of"
    SUPERSET_OF = "superset-of"
    INTERSECTS_WITH = "intersects-with"
    NO_RELATIONSHIP = "no-relationship"


class FrameworkRef(Strict):
    framework_id: Identifier
    version: str


class Mapping(Strict):
    source: str | None = None
    target: str
    relationship: Relationship
    strength: int = Field(ge=0, le=10)
    rationale: Text

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        if self.relationship is Relationship.NO_RELATIONSHIP:
            if self.source is not None or self.strength != 0:
                raise ValueError(
                    f"target {self.target}: no-relationship takes no source and strength 0"
                )
        elif self.source is None or self.strength == 0:
            raise ValueError(
                f"target {self.target}: a {self.relationship} mapping needs a source and "
                "a strength from 1 to 10"
            )
        return self


class Crosswalk(Strict):
    source: FrameworkRef
    target: Identifier
    complete_for_target: bool = False
    mappings: list[Mapping] = Field(min_length=1)


class CoverageRules(Strict):
    full_relationships: list[Relationship]
    full_min_strength: int = Field(ge=1, le=10)
    # The strength at or above which an equal or superset-of mapping lets an answer to one
    # catalogue be offered, marked inferred, for another (frameworks/inference.py).
    inference_min_strength: int = Field(ge=1, le=10)


class CoverageStatus(StrEnum):
    MAPPED = "mapped"
    PARTIAL = "partially mapped"
    UNMAPPED = "unmapped"
    MISSING = "not in crosswalk"


@dataclass(frozen=True)
class TargetCoverage:
    target_id: str
    title: str
    status: CoverageStatus
    sources: tuple[str, ...]
    best_strength: int
    rationale: str


def coverage(
    crosswalk: Crosswalk,
    target_items: list[tuple[str, str]],
    rules: CoverageRules,
) -> list[TargetCoverage]:
    """Classify every element of the target catalogue by how PTSbD covers it."""
    by_target: dict[str, list[Mapping]] = {}
    for mapping in crosswalk.mappings:
        by_target.setdefault(mapping.target, []).append(mapping)
    results: list[TargetCoverage] = []
    for target_id, title in target_items:
        mappings = by_target.get(target_id, [])
        related = [m for m in mappings if m.relationship is not Relationship.NO_RELATIONSHIP]
        if not mappings:
            status, rationale = CoverageStatus.MISSING, ""
        elif not related:
            status, rationale = CoverageStatus.UNMAPPED, mappings[0].rationale
        else:
            full = [
                m
                for m in related
                if m.relationship in rules.full_relationships
                and m.strength >= rules.full_min_strength
            ]
            status = CoverageStatus.MAPPED if full else CoverageStatus.PARTIAL
            best = max(full or related, key=lambda m: m.strength)
            rationale = best.rationale
        results.append(
            TargetCoverage(
                target_id=target_id,
                title=title,
                status=status,
                sources=tuple(sorted({m.source for m in related if m.source})),
                best_strength=max((m.strength for m in related), default=0),
                rationale=rationale,
            )
        )
    return results


def crosswalk_problems(
    crosswalk: Crosswalk, framework: Framework, target_ids: list[str]
) -> list[tuple[str, str]]:
    """(location, problem) pairs: unknown ids, duplicates, and gaps in a complete crosswalk."""
    problems: list[tuple[str, str]] = []
    outcome_ids = {outcome.id for outcome in framework.outcomes()}
    known_targets = set(target_ids)
    seen: set[tuple[str | None, str]] = set()
    for index, mapping in enumerate(crosswalk.mappings):
        where = f"mappings[{index}]"
        if mapping.source is not None and mapping.source not in outcome_ids:
            problems.append((f"{where}.source", f"unknown PTSbD outcome {mapping.source}"))
        if mapping.target not in known_targets:
            problems.append(
                (f"{where}.target", f"unknown {crosswalk.target} element {mapping.target}")
            )
        key = (mapping.source, mapping.target)
        if key in seen:
            problems.append((where, f"duplicate mapping {mapping.source} -> {mapping.target}"))
        seen.add(key)
    if crosswalk.complete_for_target:
        mentioned = {mapping.target for mapping in crosswalk.mappings}
        for target_id in target_ids:
            if target_id not in mentioned:
                problems.append(
                    (
                        "mappings",
                        f"{crosswalk.target} element {target_id} is neither mapped nor marked "
                        "no-relationship",
                    )
                )
    return problems
