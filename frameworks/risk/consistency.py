"""Ratings of the same risk that disagree across forces: the same product, the same threat and the
same deployment facts, rated to different risk levels by different organisations. A difference
is not a mistake in itself; it is a question worth asking of both ratings."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from pydantic import StringConstraints

from frameworks.risk.matrix import RiskId, RiskLevel, RiskMatrix, UnknownRiskId
from frameworks.schema import Strict, Text

Key = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]


class Rating(Strict):
    """One organisation's rating of one scenario. `facts_digest` identifies the deployment facts
    the rating was made under: only ratings made under the same facts are compared."""

    organisation_id: Key
    organisation_name: Text
    product_id: Key
    threat: RiskId
    facts_digest: Key
    likelihood: RiskId
    impact: RiskId
    suggested_likelihood: RiskId | None = None
    scenario_id: Key


class RatedScenario(Strict):
    rating: Rating
    level: RiskLevel


class Divergence(Strict):
    product_id: str
    threat: str
    facts_digest: str
    # Lowest level first, then by organisation and scenario.
    ratings: tuple[RatedScenario, ...]
    lowest: RiskLevel
    highest: RiskLevel
    # How many risk levels apart the lowest and highest are.
    spread: int

    def organisations(self) -> list[str]:
        return sorted({rated.rating.organisation_id for rated in self.ratings})


def _level(rating: Rating, matrix: RiskMatrix) -> RiskLevel:
    try:
        return matrix.level_of(rating.likelihood, rating.impact)
    except UnknownRiskId as exc:
        raise UnknownRiskId(f"scenario {rating.scenario_id}: {exc}") from exc


def divergent(ratings: list[Rating], matrix: RiskMatrix) -> list[Divergence]:
    """Groups of ratings of one product, threat and facts in which two or more organisations
    rate different risk levels; the widest spread first, then by product, threat and facts."""
    groups: dict[tuple[str, str, str], list[RatedScenario]] = defaultdict(list)
    for rating in ratings:
        key = (rating.product_id, rating.threat, rating.facts_digest)
        groups[key].append(RatedScenario(rating=rating, level=_level(rating, matrix)))
    found: list[Divergence] = []
    for (product_id, threat, facts_digest), rated in groups.items():
        organisations = {item.rating.organisation_id for item in rated}
        # With two organisations and two levels in a group, some pair from different
        # organisations always differs, so a group of two organisations and two levels diverges.
        if len(organisations) < 2 or len({item.level.id for item in rated}) < 2:
            continue
        rated.sort(
            key=lambda item: (
                matrix.rank(item.level.id),
                item.rating.organisation_id,
                item.rating.scenario_id,
            )
        )
        lowest, highest = rated[0].level, rated[-1].level
        found.append(
            Divergence(
                product_id=product_id,
                threat=threat,
                facts_digest=facts_digest,
                ratings=tuple(rated),
                lowest=lowest,
                highest=highest,
                spread=matrix.rank(highest.id) - matrix.rank(lowest.id),
            )
        )
    found.sort(key=lambda item: (-item.spread, item.product_id, item.threat, item.facts_digest))
    return found
