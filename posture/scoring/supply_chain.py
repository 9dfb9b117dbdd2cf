"""A force's supply chain, read from its portfolio, as verified evidence for its own score.

The outcome a framework names for supply chain security (portfolio.yaml `supply_chain`) is
verified from the products the force deploys as of the scoring day, as a check run verifies a
product's outcomes: the level the portfolio allows caps the force's claim (a contradiction,
named by the policy's finding code) or corroborates it. A deployment is weak when its product's
band in its newest snapshot under the scored framework by that day is a weak band, or it has
none; it is carried when the
force holds an accepted risk about the product on that day. Weighted by criticality and data
(posture.portfolio.weights), as the concentration view weighs them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.portfolio.bands import framework_version_id, product_bands
from posture.portfolio.estate_rows import weighed_deployments, weight_of
from posture.portfolio.policy import portfolio_policy
from posture.portfolio.weights import Weigher
from posture.scoring.inputs import CheckEvidence
from posture.scoring.rules import ACHIEVED, LEVEL_NAMES, NOT_ACHIEVED, PARTIALLY_ACHIEVED
from posture.scoring.subjects import cutoff
from posture.storage.models import (
    Deployment,
    Organisation,
    Product,
    RiskAcceptance,
    RiskScenario,
)
from posture.storage.models.enums import OrgKind


@dataclass(frozen=True)
class DeployedStanding:
    product_id: int
    product: str
    weight: int
    band: str | None
    carried: bool
    weak: bool


@dataclass(frozen=True)
class SupplyChain:
    """One force's supply chain as of a day, and the level it allows its outcome."""

    outcome_id: str
    # None: no deployment recorded by that day, so the portfolio says nothing either way (the
    # claim stands on its answer alone).
    level: int | None
    as_of: date
    checked_at: datetime
    deployments: tuple[DeployedStanding, ...]

    @property
    def weak_share(self) -> float:
        total = sum(d.weight for d in self.deployments)
        return sum(d.weight for d in self.deployments if d.weak) / total if total else 0.0

    def evidence(self) -> CheckEvidence:
        assert self.level is not None
        finding = portfolio_policy().supply_chain.finding
        if self.level == ACHIEVED:
            return CheckEvidence(ACHIEVED, self.checked_at, None)
        return CheckEvidence(self.level, self.checked_at, None, finding.code, finding.title)

    def explain(self) -> dict[str, Any]:
        rule = portfolio_policy().supply_chain
        if self.level is None:
            return {
                "outcome": self.outcome_id,
                "allows": None,
                "rule": "no deployment recorded: the claim stands on its answer alone",
                "deployments": [],
            }
        return {
            "outcome": self.outcome_id,
            "allows": None if self.level is None else LEVEL_NAMES[self.level],
            "rule": (
                f"weak (band {', '.join(rule.weak_bands)} or not scored) in "
                f"{self.weak_share:.0%} of the weighted deployments "
                f"(not achieved from {rule.not_achieved_share:.0%}); "
                f"{sum(d.carried for d in self.deployments)} carry an accepted risk"
            ),
            "deployments": [
                {
                    "product_id": d.product_id,
                    "product": d.product,
                    "weight": d.weight,
                    "band": d.band,
                    "weak": d.weak,
                    "carried_risk": d.carried,
                }
                for d in self.deployments
            ],
        }


def with_supply_chains(
    checks: dict[tuple[int, int | None], dict[str, CheckEvidence]],
    chains: dict[int, SupplyChain],
) -> None:
    """Each force's supply-chain level beside its check runs' levels: the lower stands (a tie
    keeps the check run's), as between two check runs."""
    for organisation_id, chain in chains.items():
        if chain.level is None:
            continue
        levels = checks.setdefault((organisation_id, None), {})
        current = levels.get(chain.outcome_id)
        if current is None or chain.level < current.level:
            levels[chain.outcome_id] = chain.evidence()


def supply_chains(
    session: Session, loaded: LoadedFramework, organisation_ids: list[int], as_of: date
) -> dict[int, SupplyChain]:
    """The supply chain of each force among `organisation_ids` (other organisations have none to
    read), when the framework names a supply-chain outcome; in five queries."""
    rule = portfolio_policy().supply_chain
    outcome_id = rule.outcomes.get(loaded.framework.framework_id)
    if outcome_id is None or not organisation_ids:
        return {}
    end = cutoff(as_of)
    forces = set(
        session.scalars(
            select(Organisation.id).where(
                Organisation.id.in_(organisation_ids), Organisation.kind == OrgKind.FORCE
            )
        )
    )
    if not forces:
        return {}
    rows = session.execute(
        weighed_deployments(Product.name)
        .where(
            Deployment.organisation_id.in_(forces),
            Deployment.created_at <= end,
            or_(Deployment.ended_at.is_(None), Deployment.ended_at > end),
        )
        .order_by(Deployment.organisation_id, Deployment.product_id)
    ).all()
    version_id = framework_version_id(session, loaded)
    taken_at, bands = product_bands(
        session, version_id, sorted({row.product_id for row in rows}), end
    )
    carried = _carried(session, forces, as_of, end)
    weigher = Weigher()
    by_force: dict[int, list[DeployedStanding]] = defaultdict(list)
    for row in rows:
        band = bands.get(row.product_id)
        by_force[row.organisation_id].append(
            DeployedStanding(
                product_id=row.product_id,
                product=row.name,
                weight=weight_of(weigher, row),
                band=band,
                carried=(row.organisation_id, row.product_id) in carried,
                weak=band is None or band in rule.weak_bands,
            )
        )
    checked_at = taken_at or end
    chains = {}
    for organisation_id in sorted(forces):
        deployed = tuple(by_force.get(organisation_id, ()))
        chain = SupplyChain(outcome_id, ACHIEVED, as_of, checked_at, deployed)
        level: int | None = ACHIEVED
        if not deployed:
            level = None
        elif chain.weak_share >= rule.not_achieved_share:
            level = NOT_ACHIEVED
        elif any(d.weak or d.carried for d in deployed):
            level = PARTIALLY_ACHIEVED
        chains[organisation_id] = SupplyChain(outcome_id, level, as_of, checked_at, deployed)
    return chains


def _carried(
    session: Session, forces: set[int], as_of: date, end: datetime
) -> set[tuple[int, int]]:
    """(force, product) pairs on which the force holds an accepted risk on `as_of`. The filter is
    posture.risk.acceptance_state.acceptance_counts in SQL (scoring may not import the register,
    which reads scores); tests/portfolio/test_supply_chain.py holds the two equal."""
    rows = session.execute(
        select(RiskScenario.organisation_id, RiskScenario.product_id)
        .join(RiskAcceptance, RiskAcceptance.scenario_id == RiskScenario.id)
        .where(
            RiskScenario.organisation_id.in_(forces),
            RiskScenario.product_id.is_not(None),
            RiskAcceptance.revoked_at.is_(None),
            RiskAcceptance.expires_on >= as_of,
            RiskAcceptance.accepted_at <= end,
        )
    ).all()
    return {(organisation_id, product_id) for organisation_id, product_id in rows}
