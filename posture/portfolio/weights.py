"""What one deployment weighs: its criticality tier's weight times the weight of the data the
force puts in it (the product's classification with the force's use added, as
frameworks.deployment_facts.combined_tier says). Memoised on those few values, so an estate of
thousands of deployments costs a handful of computations."""

from __future__ import annotations

from functools import cache

from frameworks.deployment_facts import SecurityClassification, combined_tier
from posture.portfolio.policy import PortfolioPolicy, portfolio_policy


def _tier(classification: str | None) -> SecurityClassification | None:
    return SecurityClassification(classification) if classification else None


class Weigher:
    """Deployment weights under one portfolio policy."""

    def __init__(self, policy: PortfolioPolicy | None = None) -> None:
        self.policy = policy or portfolio_policy()
        self.weight = cache(self._weight)

    def _weight(
        self,
        criticality: str | None,
        product_classification: str | None,
        product_caveat: bool,
        classification: str | None,
        caveat: bool,
    ) -> int:
        """`product_*` are the product's declared facts, the others the force's use."""
        tier = combined_tier(
            (_tier(product_classification), bool(product_caveat)),
            (_tier(classification), bool(caveat)),
        )
        return self.policy.tier(criticality).weight * self.policy.data_weight(tier)
