"""The portfolio policy (posture/data/portfolio.yaml): criticality tiers, most critical first,
and the weights concentration ranks deployments by."""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from frameworks.deployment_facts import SecurityClassification, Tier
from kernel.data_yaml import load_data_yaml


class CriticalityTier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")
    label: str = Field(min_length=1, max_length=60)
    weight: int = Field(ge=1, le=100)
    description: str = Field(min_length=1)


class SupplyChainFinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^[A-Z0-9-]{3,32}$")
    title: str = Field(min_length=1, max_length=300)


class SupplyChainRule(BaseModel):
    """How a force's portfolio verifies its supply-chain outcome (portfolio.yaml says why)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Framework id -> the outcome the portfolio verifies in it.
    outcomes: dict[str, str]
    weak_bands: tuple[str, ...]
    not_achieved_share: float = Field(gt=0, le=1)
    finding: SupplyChainFinding


class PortfolioPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    criticality: tuple[CriticalityTier, ...] = Field(min_length=1)
    classification_weight: dict[SecurityClassification, int]
    sensitive_caveat_weight: int = Field(ge=1)
    supply_chain: SupplyChainRule

    @model_validator(mode="after")
    def _sane(self) -> PortfolioPolicy:
        ids = [tier.id for tier in self.criticality]
        if len(set(ids)) != len(ids):
            raise ValueError("criticality: a tier id is listed twice")
        weights = [tier.weight for tier in self.criticality]
        if weights != sorted(weights, reverse=True):
            raise ValueError("criticality: tiers are listed most critical (heaviest) first")
        if set(self.classification_weight) != set(SecurityClassification):
            raise ValueError("classification_weight: give a weight for every classification")
        return self

    def tier_ids(self) -> tuple[str, ...]:
        return tuple(tier.id for tier in self.criticality)

    def tier(self, tier_id: str | None) -> CriticalityTier:
        """The tier a deployment is weighed at: its own, or the most critical when undeclared
        (or when a stored tier is one this policy no longer has)."""
        for tier in self.criticality:
            if tier.id == tier_id:
                return tier
        return self.criticality[0]

    def data_weight(self, tier: Tier) -> int:
        """The weight of data of a classification (with the SENSITIVE caveat or not); undeclared
        weighs as the most sensitive."""
        classification, caveat = tier
        if classification is None:
            return max(self.classification_weight.values())
        weight = self.classification_weight[classification]
        if caveat:
            weight = max(weight, self.sensitive_caveat_weight)
        return weight


@cache
def portfolio_policy() -> PortfolioPolicy:
    text = (resources.files("posture") / "data" / "portfolio.yaml").read_text("utf-8")
    return PortfolioPolicy.model_validate(load_data_yaml(text))
