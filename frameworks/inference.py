"""Offer answers to one catalogue for another through the crosswalks.

An inferred answer is a suggestion: it names the outcomes it came from ("inferred from PTSbD B2.c,
confirm or change") and is never counted until a person confirms or changes it. Only mappings
that cover the whole target element carry an answer (the inference rules in
frameworks/data/crosswalks/coverage-rules.yaml); a crosswalk read backwards swaps subset-of and
superset-of, so "PTSbD X subset-of CAF Y" (strong enough) lets a CAF Y answer speak for PTSbD X.
Where several source outcomes speak for one target, the lowest level is offered.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingOf
from dataclasses import dataclass

from frameworks.catalogue_view import catalogue_id_of
from frameworks.crosswalk import CoverageRules, Crosswalk, Relationship
from frameworks.loader import LoadedFramework
from frameworks.schema import LEVEL_ORDER, Level, Outcome
from frameworks.urns import outcome_urn

# Only a mapping that covers the whole target lets an answer speak for it; which strength is
# enough is data (coverage-rules.yaml).
INFERENCE_RELATIONSHIPS = frozenset({Relationship.EQUAL, Relationship.SUPERSET_OF})
REVERSED = {
    Relationship.EQUAL: Relationship.EQUAL,
    Relationship.SUBSET_OF: Relationship.SUPERSET_OF,
    Relationship.SUPERSET_OF: Relationship.SUBSET_OF,
    Relationship.INTERSECTS_WITH: Relationship.INTERSECTS_WITH,
    Relationship.NO_RELATIONSHIP: Relationship.NO_RELATIONSHIP,
}


@dataclass(frozen=True)
class InferenceSource:
    framework_title: str
    outcome_id: str
    urn: str
    level: Level
    relationship: Relationship
    strength: int

    @property
    def label(self) -> str:
        return f"{self.framework_title} {self.outcome_id}"


@dataclass(frozen=True)
class InferredAnswer:
    outcome_id: str
    urn: str
    level: Level
    indicators_met: tuple[str, ...]
    sources: tuple[InferenceSource, ...]

    @property
    def note(self) -> str:
        return inferred_note(source.label for source in self.sources)


def inferred_note(labels: object) -> str:
    """What a page shows beside an inferred answer; one wording, used everywhere."""
    return f"inferred from {', '.join(labels)}, confirm or change"  # type: ignore[call-overload]


@dataclass(frozen=True)
class _Link:
    source_id: str
    target_id: str
    relationship: Relationship
    strength: int


def _links(
    source: LoadedFramework,
    target: LoadedFramework,
    crosswalks: MappingOf[tuple[str, str, str], Crosswalk],
) -> list[_Link]:
    """Mappings from `source` outcomes to `target` outcomes, read forwards or backwards."""
    source_key, target_key = source.key, target.key
    source_catalogue = catalogue_id_of(source.framework)
    target_catalogue = catalogue_id_of(target.framework)
    links: list[_Link] = []
    forward = crosswalks.get((*source_key, target_catalogue))
    if forward is not None:
        links += [
            _Link(m.source, m.target, m.relationship, m.strength)
            for m in forward.mappings
            if m.source is not None
        ]
    backward = crosswalks.get((*target_key, source_catalogue))
    if backward is not None:
        links += [
            _Link(m.target, m.source, REVERSED[m.relationship], m.strength)
            for m in backward.mappings
            if m.source is not None
        ]
    return links


def indicators_for(outcome: Outcome, level: Level) -> tuple[str, ...] | None:
    """Indicators that make an answer claim exactly `level` (posture/scoring/rules.py), or None
    when the outcome has no way to say it (no partially-achieved indicators)."""
    indicators = outcome.indicators
    if level is Level.ACHIEVED:
        return tuple(i.id for i in indicators.partially_achieved + indicators.achieved)
    if level is Level.PARTIALLY_ACHIEVED:
        if not indicators.partially_achieved:
            return None
        return tuple(i.id for i in indicators.partially_achieved)
    return (indicators.not_achieved[0].id,)


def infer_answers(
    source: LoadedFramework,
    source_levels: MappingOf[str, Level],
    target: LoadedFramework,
    crosswalks: MappingOf[tuple[str, str, str], Crosswalk],
    rules: CoverageRules,
) -> dict[str, InferredAnswer]:
    """Target outcome id -> the answer the source answers imply. `source_levels` holds the level
    each answered source outcome claims (not-applicable answers left out: they imply nothing)."""
    usable: dict[str, list[InferenceSource]] = {}
    for link in _links(source, target, crosswalks):
        level = source_levels.get(link.source_id)
        if level is None:
            continue
        if link.relationship not in INFERENCE_RELATIONSHIPS:
            continue
        if link.strength < rules.inference_min_strength:
            continue
        usable.setdefault(link.target_id, []).append(
            InferenceSource(
                framework_title=source.framework.title,
                outcome_id=link.source_id,
                urn=outcome_urn(*source.key, link.source_id),
                level=level,
                relationship=link.relationship,
                strength=link.strength,
            )
        )
    outcomes = {outcome.id: outcome for outcome in target.framework.outcomes()}
    inferred: dict[str, InferredAnswer] = {}
    for target_id, sources in usable.items():
        outcome = outcomes.get(target_id)
        if outcome is None:
            continue
        level = min((s.level for s in sources), key=LEVEL_ORDER.__getitem__)
        indicators = indicators_for(outcome, level)
        if indicators is None:  # partially achieved where the target has no such level
            level = Level.NOT_ACHIEVED
            indicators = indicators_for(outcome, level)
        assert indicators is not None
        inferred[target_id] = InferredAnswer(
            outcome_id=target_id,
            urn=outcome_urn(*target.key, target_id),
            level=level,
            indicators_met=indicators,
            sources=tuple(sorted(sources, key=lambda s: s.outcome_id)),
        )
    return dict(sorted(inferred.items()))
