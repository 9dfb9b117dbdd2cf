"""Pydantic schema of a framework file: objectives -> principles -> outcomes -> indicators."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# No NUL: PostgreSQL text cannot hold one, and no title or description needs it.
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True, pattern=r"^[^\x00]*$"),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

MIN_WEIGHT = 1
MAX_WEIGHT = 5


def reject_duplicates(ids: list[str]) -> None:
    seen: set[str] = set()
    for node_id in ids:
        if node_id in seen:
            raise ValueError(f"duplicate id {node_id}")
        seen.add(node_id)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(StrEnum):
    NOT_ACHIEVED = "not_achieved"
    PARTIALLY_ACHIEVED = "partially_achieved"
    ACHIEVED = "achieved"


LEVEL_ORDER = {Level.NOT_ACHIEVED: 0, Level.PARTIALLY_ACHIEVED: 1, Level.ACHIEVED: 2}


class Audience(StrEnum):
    FORCE = "force"
    SUPPLIER = "supplier"
    BOTH = "both"

    def includes(self, subject: Audience) -> bool:
        return self is Audience.BOTH or self is subject


class Indicator(Strict):
    id: Identifier
    text: Text


class IndicatorSet(Strict):
    not_achieved: list[Indicator] = Field(min_length=1)
    partially_achieved: list[Indicator] = Field(default_factory=list)
    achieved: list[Indicator] = Field(min_length=1)

    def by_level(self) -> dict[Level, list[Indicator]]:
        return {
            Level.NOT_ACHIEVED: self.not_achieved,
            Level.PARTIALLY_ACHIEVED: self.partially_achieved,
            Level.ACHIEVED: self.achieved,
        }


class Outcome(Strict):
    id: Identifier
    title: Text
    intent: Text
    audience: Audience
    weight: int = Field(ge=MIN_WEIGHT, le=MAX_WEIGHT)
    critical: bool
    evidence_types: list[Identifier] = Field(min_length=1)
    indicators: IndicatorSet

    @model_validator(mode="after")
    def _indicators_belong_here(self) -> Outcome:
        for level, indicators in self.indicators.by_level().items():
            for indicator in indicators:
                if not indicator.id.startswith(f"{self.id}."):
                    raise ValueError(
                        f"indicator {indicator.id} ({level}) must start with its outcome id "
                        f"'{self.id}.'"
                    )
        return self


class Principle(Strict):
    id: Identifier
    title: Text
    intent: Text
    outcomes: list[Outcome] = Field(min_length=1)


class Objective(Strict):
    id: Identifier
    title: Text
    intent: Text
    principles: list[Principle] = Field(min_length=1)


class Framework(Strict):
    framework_id: Identifier
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")]
    title: Text
    publisher: Text
    licence: Text
    # Where the publisher's own text is, for a framework this project transcribes (the CAF).
    source: Text | None = None
    released: date
    evidence_types: list[Identifier] = Field(min_length=1)
    # Digests of earlier renderings of this same version whose outcomes and indicators are
    # unchanged, so assessments pinned to them still hold (see LoadedFramework.pins_content).
    earlier_content_sha256: list[Sha256] = Field(default_factory=list)
    objectives: list[Objective] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique_and_known(self) -> Framework:
        reject_duplicates(self._all_ids())
        evidence_types = set(self.evidence_types)
        for outcome in self.outcomes():
            for kind in outcome.evidence_types:
                if kind not in evidence_types:
                    raise ValueError(f"outcome {outcome.id}: unknown evidence type {kind!r}")
        return self

    def _all_ids(self) -> list[str]:
        ids: list[str] = []
        for objective in self.objectives:
            ids.append(objective.id)
            for principle in objective.principles:
                ids.append(principle.id)
                for outcome in principle.outcomes:
                    ids.append(outcome.id)
                    for indicators in outcome.indicators.by_level().values():
                        ids.extend(indicator.id for indicator in indicators)
        return ids

    def outcomes(self) -> list[Outcome]:
        return [
            outcome
            for objective in self.objectives
            for principle in objective.principles
            for outcome in principle.outcomes
        ]

    def outcome(self, outcome_id: str) -> Outcome:
        for outcome in self.outcomes():
            if outcome.id == outcome_id:
                return outcome
        raise KeyError(outcome_id)

    def outcome_parents(self) -> dict[str, tuple[str, str]]:
        """Outcome id -> (objective id, principle id)."""
        return {
            outcome.id: (objective.id, principle.id)
            for objective in self.objectives
            for principle in objective.principles
            for outcome in principle.outcomes
        }


class Profile(Strict):
    id: Identifier
    title: Text
    description: Text
    subject: Audience
    default_target: Level
    targets: dict[str, Level] = Field(default_factory=dict)
    out_of_scope: dict[str, Text] = Field(default_factory=dict)

    def target_for(self, outcome: Outcome) -> Level | None:
        """The level an outcome must reach, or None when it is out of scope for this profile."""
        if outcome.id in self.out_of_scope or not outcome.audience.includes(self.subject):
            return None
        return self.targets.get(outcome.id, self.default_target)


class ProfileSet(Strict):
    framework_id: Identifier
    framework_version: str
    profiles: list[Profile] = Field(min_length=1)


class OutcomeMigration(Strict):
    from_version: str
    to_version: str
    outcome: Identifier
    becomes: list[Identifier]
    note: str = ""


class MigrationMap(Strict):
    framework_id: Identifier
    migrations: list[OutcomeMigration] = Field(default_factory=list)
