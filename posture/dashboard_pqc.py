"""The post-quantum migration view and the assurance workload, for the estate dashboards.

A product's readiness is its weakest link: the lowest score among the latest run of each
post-quantum check kind (a run that could not assess the product makes it "not assessable").
A milestone counts as met only when every kind that assessed it met it.

Both are counted in the database, from the runs' columns and the milestone rows: the page gets
a handful of rows however many products were checked.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import CTE, Select, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from checks.catalogue import post_quantum_kinds
from posture.check_runs import latest_run_columns
from posture.dashboards import PERMISSION
from posture.identity.permissions import Principal, visible_organisations
from posture.identity.scoped import within_reach
from posture.storage.models import Assessment, CheckRun, CheckRunMilestone, Product
from posture.storage.models.enums import AssessmentStatus, RunStatus

# Readiness groups by score, highest first: (label, lowest score in the group).
READINESS_GROUPS = (("ready", 80.0), ("migrating", 40.0), ("exposed", 0.0))
NOT_ASSESSABLE = "not assessable"
# A product's status for a milestone across the kinds that judged it: the highest rank wins, so
# one kind that did not meet it outweighs any that did, and "not assessed" counts only when no
# kind assessed it. A run that could not assess the product judged nothing, whatever it listed.
MILESTONE_RANKS = {"not assessed": 1, "met": 2, "not met": 3}


def _latest_runs(principal: Principal) -> CTE:
    """(id, product_id, status, score) of the latest run of each post-quantum kind for each
    product the principal may see; PermissionDenied without the dashboards."""
    conditions: list[Any] = [
        CheckRun.product_id.is_not(None),
        CheckRun.kind.in_(post_quantum_kinds()),
    ]
    visible = visible_organisations(principal, PERMISSION)
    if visible is not None:
        # Inside the ranking, so runs out of reach are never ranked at all; the partition is per
        # organisation, so the latest run of a visible subject is the same either way.
        conditions.append(CheckRun.organisation_id.in_(visible))
    return latest_run_columns(
        (CheckRun.product_id, CheckRun.status, CheckRun.score), *conditions
    ).cte("pq_runs")


def _readiness_counts(runs: CTE) -> Select[Any]:
    """("readiness", group, 0, products) rows."""
    unknown = case((or_(runs.c.status != RunStatus.SUCCEEDED, runs.c.score.is_(None)), 1), else_=0)
    products = (
        select(func.max(unknown).label("unknown"), func.min(runs.c.score).label("weakest"))
        .group_by(runs.c.product_id)
        .subquery()
    )
    # Labelled in a subquery and grouped outside it: PostgreSQL will not match a CASE with bound
    # parameters in the select list to the same CASE in GROUP BY.
    labelled = select(
        case(
            (products.c.unknown == 1, NOT_ASSESSABLE),
            *((products.c.weakest >= floor, label) for label, floor in READINESS_GROUPS),
        ).label("readiness")
    ).subquery()
    return select(literal("readiness"), labelled.c.readiness, literal(0), func.count()).group_by(
        labelled.c.readiness
    )


def _milestone_counts(runs: CTE) -> Select[Any]:
    """("milestone", milestone id, status rank, products) rows."""
    status = CheckRunMilestone.status
    rank = case(
        (runs.c.status != RunStatus.SUCCEEDED, MILESTONE_RANKS["not assessed"]),
        *((status == name, value) for name, value in MILESTONE_RANKS.items()),
        # Words checks do not use prove nothing.
        else_=MILESTONE_RANKS["not assessed"],
    )
    per_product = (
        select(CheckRunMilestone.milestone_id, func.max(rank).label("rank"))
        .join(runs, runs.c.id == CheckRunMilestone.check_run_id)
        .group_by(runs.c.product_id, CheckRunMilestone.milestone_id)
        .subquery()
    )
    return select(
        literal("milestone"), per_product.c.milestone_id, per_product.c.rank, func.count()
    ).group_by(per_product.c.milestone_id, per_product.c.rank)


def pqc_migration(session: Session, principal: Principal) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(products per readiness group, products per milestone and status)."""
    runs = _latest_runs(principal)
    count = select(func.count()).select_from(Product)
    count = within_reach(count, Product.organisation_id, principal, PERMISSION)
    total = session.scalar(count) or 0
    # One statement, so the latest runs are ranked once for both counts.
    rows = session.execute(union_all(_readiness_counts(runs), _milestone_counts(runs))).all()
    # A score below every floor has no group; it still counts as checked.
    groups = {key: int(n) for part, key, _, n in rows if part == "readiness"}
    labels = [label for label, _ in READINESS_GROUPS] + [NOT_ASSESSABLE]
    readiness = pd.Series([groups.get(label, 0) for label in labels], index=labels, dtype="int64")
    readiness["not checked"] = total - sum(groups.values())
    by_group = readiness.rename_axis("readiness").reset_index(name="products")
    names = {value: name for name, value in MILESTONE_RANKS.items()}
    by_milestone = pd.DataFrame(
        [(key, names[rank], int(n)) for part, key, rank, n in rows if part == "milestone"],
        columns=["milestone", "status", "products"],
    )
    by_milestone["products"] = by_milestone["products"].astype("int64")
    return by_group, by_milestone.sort_values(["milestone", "status"], ignore_index=True)


def assurance_workload(
    session: Session, principal: Principal, standings: pd.DataFrame
) -> dict[str, int]:
    """Assessments awaiting review and products whose claims checks contradict."""
    query = select(Assessment.status, func.count()).group_by(Assessment.status)
    query = within_reach(query, Assessment.organisation_id, principal, PERMISSION)
    counts = dict(session.execute(query).all())
    contradicted = standings["contradicted"] if "contradicted" in standings else pd.Series()
    return {
        "awaiting review": int(counts.get(AssessmentStatus.SUBMITTED, 0)),
        "under review": int(counts.get(AssessmentStatus.UNDER_REVIEW, 0)),
        "products with contradicted claims": int((contradicted > 0).sum()),
    }
