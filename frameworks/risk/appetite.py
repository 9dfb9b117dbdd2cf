"""Risk appetite: the highest residual risk tolerated for each classification of data, how long
an acceptance of a risk above appetite may last at each risk level, and how long a force may
excuse a product from one framework outcome (shorter for a critical outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated

from pydantic import Field, model_validator

from frameworks.deployment_facts import (
    LABELS,
    SecurityClassification,
    caveat_problem,
)
from frameworks.risk.matrix import RiskDataMismatch, RiskId, RiskLevel, RiskMatrix, Version
from frameworks.schema import Strict, Text

# Three years: the longest any acceptance lasts before the senior information risk owner must
# look at it again, whatever its level.
MAX_ACCEPTANCE_DAYS = 1095
AcceptanceDays = Annotated[int, Field(ge=1, le=MAX_ACCEPTANCE_DAYS, strict=True)]

Tier = tuple[SecurityClassification, bool]
# Every tier an appetite must cover, least protected first: an entry may tolerate no more risk
# than the one before it.
TIERS: tuple[Tier, ...] = (
    (SecurityClassification.OFFICIAL, False),
    (SecurityClassification.OFFICIAL, True),
    (SecurityClassification.SECRET, False),
    (SecurityClassification.TOP_SECRET, False),
)


def tier_label(tier: Tier) -> str:
    classification, sensitive_caveat = tier
    label = LABELS[classification]
    return f"{label} with the SENSITIVE caveat" if sensitive_caveat else label


class TierAppetite(Strict):
    classification: SecurityClassification
    sensitive_caveat: bool = False
    highest_tolerated: RiskId
    rationale: Text

    @model_validator(mode="after")
    def _caveat_on_official_only(self) -> TierAppetite:
        caveat_problem(self.classification, self.sensitive_caveat)
        return self

    @property
    def tier(self) -> Tier:
        return self.classification, self.sensitive_caveat


class ExceptionDays(Strict):
    """The longest an outcome exception may run: a critical outcome's gap caps a posture band,
    so excusing it is looked at again sooner."""

    critical: AcceptanceDays
    other: AcceptanceDays

    @model_validator(mode="after")
    def _critical_not_longer(self) -> ExceptionDays:
        if self.critical > self.other:
            raise ValueError(
                f"critical: {self.critical} days is longer than the {self.other} for other "
                "outcomes; an exception to a critical outcome may not last longer"
            )
        return self


class AppetiteStatement(Strict):
    """The appetite file as written; RiskAppetite is it checked against its matrix."""

    version: Version
    matrix: Version
    tiers: list[TierAppetite] = Field(min_length=1, max_length=len(TIERS))
    max_acceptance_days: dict[RiskId, AcceptanceDays]
    max_exception_days: ExceptionDays

    @model_validator(mode="after")
    def _every_tier_once(self) -> AppetiteStatement:
        seen: set[Tier] = set()
        for index, entry in enumerate(self.tiers):
            if entry.tier in seen:
                raise ValueError(f"tiers[{index}]: a second entry for {tier_label(entry.tier)}")
            seen.add(entry.tier)
        for tier in TIERS:
            if tier not in seen:
                raise ValueError(f"tiers: no entry for {tier_label(tier)}")
        return self


@dataclass(frozen=True)
class RiskAppetite:
    statement: AppetiteStatement
    matrix: RiskMatrix

    def __post_init__(self) -> None:
        statement, matrix = self.statement, self.matrix
        if statement.matrix != matrix.version:
            raise RiskDataMismatch(
                "matrix", f"appetite is for matrix {statement.matrix}, not {matrix.version}"
            )
        known = [level.id for level in matrix.levels]
        for index, entry in enumerate(statement.tiers):
            if entry.highest_tolerated not in known:
                raise RiskDataMismatch(
                    f"tiers[{index}].highest_tolerated",
                    f"{entry.highest_tolerated} is not a risk level of matrix {matrix.version}",
                )
        for level_id in statement.max_acceptance_days:
            if level_id not in known:
                raise RiskDataMismatch(
                    f"max_acceptance_days.{level_id}",
                    f"{level_id} is not a risk level of matrix {matrix.version}",
                )
        previous: tuple[str, int] | None = None
        for level_id in known:
            days = statement.max_acceptance_days.get(level_id)
            if days is None:
                raise RiskDataMismatch(
                    "max_acceptance_days", f"no maximum acceptance period for {level_id}"
                )
            if previous is not None and days > previous[1]:
                raise RiskDataMismatch(
                    f"max_acceptance_days.{level_id}",
                    f"{days} days is longer than the {previous[1]} for the lower level "
                    f"{previous[0]}; a higher risk may not be accepted for longer",
                )
            previous = (level_id, days)
        self._check_stricter_as_tiers_rise()

    def _check_stricter_as_tiers_rise(self) -> None:
        for lower, higher in pairwise(TIERS):
            if self._rank(higher) > self._rank(lower):
                index = self.statement.tiers.index(self._entry(higher))
                raise RiskDataMismatch(
                    f"tiers[{index}].highest_tolerated",
                    f"{tier_label(higher)} tolerates more risk than {tier_label(lower)}",
                )

    def _entry(self, tier: Tier) -> TierAppetite:
        return next(entry for entry in self.statement.tiers if entry.tier == tier)

    def _rank(self, tier: Tier) -> int:
        return self.matrix.rank(self._entry(tier).highest_tolerated)

    def appetite_for(
        self, classification: SecurityClassification | None, sensitive_caveat: bool = False
    ) -> RiskLevel:
        """The highest residual risk level tolerated for data of this classification. An unknown
        classification is not read as the safe answer: it tolerates what the strictest tier does
        (tiers grow stricter as they rise, which loading checks)."""
        if classification is None:
            return self.matrix.level(self._entry(TIERS[-1]).highest_tolerated)
        caveat_problem(classification, sensitive_caveat)
        return self.matrix.level(self._entry((classification, sensitive_caveat)).highest_tolerated)

    def tolerated(
        self,
        level_id: str,
        classification: SecurityClassification | None,
        sensitive_caveat: bool = False,
    ) -> bool:
        appetite = self.appetite_for(classification, sensitive_caveat)
        return self.matrix.rank(level_id) <= self.matrix.rank(appetite.id)

    def max_acceptance_days(self, level_id: str) -> int:
        return self.statement.max_acceptance_days[self.matrix.level(level_id).id]

    def max_exception_days(self, critical: bool) -> int:
        """The longest an exception to an outcome may run, by whether the outcome is critical."""
        limits = self.statement.max_exception_days
        return limits.critical if critical else limits.other
