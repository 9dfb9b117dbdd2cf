"""The risk register as tables for pages and exports: one row per scenario with its levels,
acceptance and appetite; the heatmap's counts for every cell of the matrix, so a chart and its
text alternative cover the whole matrix; and one product's scenarios across forces."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frameworks.risk.policy import RiskPolicy, risk_policy
from posture.identity.permissions import Principal, require, visible_organisations
from posture.identity.scoped import within_reach
from posture.portfolio.deployments import judged_facts, judged_tier
from posture.risk.scenarios import OWNER_KINDS, scenarios_query
from posture.storage.models import Deployment, Organisation, Product
from posture.storage.models.enums import RiskSubjectKind
from posture.storage.models.risk import RiskAcceptance, RiskScenario

REGISTER_COLUMNS = (
    "id",
    "organisation",
    "title",
    "subject",
    "threat",
    "current_likelihood",
    "current_impact",
    "inherent_level",
    "current_level",
    "residual_level",
    "current_colour",
    "suggested_likelihood",
    "status",
    "accepted_until",
    "within_appetite",
)
HEATMAP_COLUMNS = ("likelihood", "impact", "level", "level_name", "colour", "count")


def _accepted_until(session: Session, scenario_ids: list[int], as_of: date) -> dict[int, date]:
    if not scenario_ids:
        return {}
    rows = session.execute(
        select(RiskAcceptance.scenario_id, func.max(RiskAcceptance.expires_on))
        .where(
            RiskAcceptance.scenario_id.in_(scenario_ids),
            RiskAcceptance.revoked_at.is_(None),
            RiskAcceptance.expires_on >= as_of,
        )
        .group_by(RiskAcceptance.scenario_id)
    ).all()
    return {scenario_id: until for scenario_id, until in rows}


def _deployments(
    session: Session, scenarios: list[RiskScenario]
) -> dict[tuple[int, int], Deployment]:
    """The owners' live deployments the scenarios about products are judged on, in one query."""
    wanted = {(s.organisation_id, s.product_id) for s in scenarios if s.product_id is not None}
    if not wanted:
        return {}
    found = session.scalars(
        select(Deployment).where(
            Deployment.ended_at.is_(None),
            Deployment.organisation_id.in_({o for o, _ in wanted}),
            Deployment.product_id.in_({p for _, p in wanted}),
        )
    )
    return {(d.organisation_id, d.product_id): d for d in found}


def _subject_text(scenario: RiskScenario, product: Product | None, names: dict[int, str]) -> str:
    kind = scenario.subject_kind
    if product is not None:
        return f"{kind.value}: {product.name}"
    if kind == RiskSubjectKind.SUPPLIER and scenario.supplier_id is not None:
        return f"supplier: {names.get(scenario.supplier_id, 'unknown supplier')}"
    return f"organisation: {names.get(scenario.organisation_id, 'this organisation')}"


def _rows(
    session: Session, scenarios: list[RiskScenario], as_of: date, policy: RiskPolicy
) -> pd.DataFrame:
    matrix = policy.matrix
    product_ids = {s.product_id for s in scenarios if s.product_id is not None}
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))
    }
    org_ids = {s.organisation_id for s in scenarios} | {
        s.supplier_id for s in scenarios if s.supplier_id is not None
    }
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )
    accepted = _accepted_until(session, [s.id for s in scenarios], as_of)
    deployments = _deployments(session, scenarios)
    rows = []
    for scenario in scenarios:
        product = products.get(scenario.product_id) if scenario.product_id else None
        current = matrix.level_of(scenario.current_likelihood, scenario.current_impact)
        inherent = matrix.level_of(scenario.inherent_likelihood, scenario.inherent_impact)
        residual = (
            matrix.level_of(scenario.residual_likelihood, scenario.residual_impact)
            if scenario.residual_likelihood and scenario.residual_impact
            else None
        )
        deployment = (
            deployments.get((scenario.organisation_id, product.id)) if product is not None else None
        )
        classification, caveat = judged_tier(judged_facts(product, deployment))
        # The residual level is what appetite is about; until it is rated, the current level.
        judged = residual or current
        rows.append(
            {
                "id": scenario.id,
                "organisation": names.get(scenario.organisation_id, ""),
                "title": scenario.title,
                "subject": _subject_text(scenario, product, names),
                "threat": policy.threats.threat(scenario.threat).name,
                "current_likelihood": scenario.current_likelihood,
                "current_impact": scenario.current_impact,
                "inherent_level": inherent.name,
                "current_level": current.name,
                "residual_level": residual.name if residual else None,
                "current_colour": current.colour,
                "suggested_likelihood": scenario.suggested_likelihood,
                "status": scenario.status.value,
                "accepted_until": accepted.get(scenario.id),
                "within_appetite": policy.appetite.tolerated(judged.id, classification, caveat),
            }
        )
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))


def register_table(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> pd.DataFrame:
    """One organisation's register, one row per scenario in the order raised."""
    require(principal, "risk.read", organisation_id, "organisation")
    scenarios = list(
        session.scalars(
            select(RiskScenario)
            .where(RiskScenario.organisation_id == organisation_id)
            .order_by(RiskScenario.id)
        )
    )
    return _rows(session, scenarios, as_of, risk_policy())


def national_view(
    session: Session, principal: Principal, product_id: int, as_of: date
) -> pd.DataFrame:
    """Every scenario about one product that the principal may read: a national assessor sees
    every force's, a force only its own."""
    query = within_reach(
        select(RiskScenario).where(RiskScenario.product_id == product_id),
        RiskScenario.organisation_id,
        principal,
        "risk.read",
    ).order_by(RiskScenario.organisation_id, RiskScenario.id)
    return _rows(session, list(session.scalars(query)), as_of, risk_policy())


def heatmap_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """How many of the frame's scenarios sit in each cell at their current rating: every cell of
    the matrix, zeros included, the most likely row first and lowest impact first."""
    matrix = risk_policy().matrix
    counts = (
        frame.groupby(["current_likelihood", "current_impact"]).size().to_dict()
        if len(frame)
        else {}
    )
    rows = []
    for row in matrix.grid():
        for impact, level in zip(matrix.impact_levels, row.cells, strict=True):
            rows.append(
                {
                    "likelihood": row.likelihood.id,
                    "impact": impact.id,
                    "level": level.id,
                    "level_name": level.name,
                    "colour": level.colour,
                    "count": int(counts.get((row.likelihood.id, impact.id), 0)),
                }
            )
    return pd.DataFrame(rows, columns=list(HEATMAP_COLUMNS))


def register_owners(
    session: Session, principal: Principal, permission: str
) -> tuple[dict[int, str], set[int]]:
    """The forces and national bodies whose register `principal` may read under `permission`,
    by id with their names (by name), and which of them hold a scenario."""
    scope = visible_organisations(principal, permission)
    query = select(Organisation.id, Organisation.name).where(Organisation.kind.in_(OWNER_KINDS))
    if scope is not None:
        query = query.where(Organisation.id.in_(scope))
    names = {org_id: name for org_id, name in session.execute(query.order_by(Organisation.name))}
    kept = set(
        session.scalars(
            select(RiskScenario.organisation_id)
            .where(RiskScenario.organisation_id.in_(list(names)))
            .distinct()
        )
    )
    return names, kept


def product_names(session: Session, product_ids: set[int]) -> dict[int, str]:
    """Names of products a reader already reached (through a scenario or a report about them)."""
    return {
        product_id: name
        for product_id, name in session.execute(
            select(Product.id, Product.name).where(Product.id.in_(product_ids))
        )
    }


def scenario_products(session: Session, principal: Principal) -> dict[int, str]:
    """The products named in the scenarios `principal` may see, by id, with their names; the
    scenarios themselves are not read."""
    seen = (
        scenarios_query(principal)
        .with_only_columns(RiskScenario.product_id)
        .where(RiskScenario.product_id.is_not(None))
        .order_by(None)
        .distinct()
    )
    return {
        product_id: name
        for product_id, name in session.execute(
            select(Product.id, Product.name).where(Product.id.in_(seen)).order_by(Product.id)
        )
    }
