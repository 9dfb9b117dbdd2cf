"""The post-quantum migration view and the assurance workload, for the estate dashboards.

A product's readiness is its weakest link: the lowest score among the latest run of each
post-quantum check kind (a run that could not assess the product makes it "not assessable").
A milestone counts as met only when every kind that assessed it met it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.catalogue import post_quantum_kinds
from posture.check_runs import latest_run_ids
from posture.dashboards import PERMISSION
from posture.identity.permissions import Principal
from posture.identity.scoped import within_reach
from posture.storage.models import Assessment, CheckRun, CheckRunMilestone, Product
from posture.storage.models.enums import AssessmentStatus, RunStatus

# Readiness groups by score, highest first: (label, lowest score in the group).
READINESS_GROUPS = (("ready", 80.0), ("migrating", 40.0), ("exposed", 0.0))


def _latest_runs(session: Session, principal: Principal) -> list[tuple[int, dict]]:  # type: ignore[type-arg]
    """(product id, {score, milestones}) for the latest run of each post-quantum kind, read
    from columns and the milestone rows, never from the runs' stored results."""
    latest = latest_run_ids(
        CheckRun.product_id.is_not(None), CheckRun.kind.in_(post_quantum_kinds())
    ).subquery()
    query = select(CheckRun.id, CheckRun.product_id, CheckRun.status, CheckRun.score).join(
        latest, latest.c.id == CheckRun.id
    )
    query = within_reach(query, CheckRun.organisation_id, principal, PERMISSION)
    connection = session.connection()
    found = connection.execute(query.order_by(CheckRun.id)).all()
    judged: dict[int, list[dict[str, str]]] = {}
    marks = (
        select(
            CheckRunMilestone.check_run_id, CheckRunMilestone.milestone_id, CheckRunMilestone.status
        )
        .join(latest, latest.c.id == CheckRunMilestone.check_run_id)
        .order_by(CheckRunMilestone.check_run_id, CheckRunMilestone.milestone_id)
    )
    for run_id, milestone, status in connection.execute(marks):
        judged.setdefault(run_id, []).append({"id": milestone, "status": status})
    runs = []
    for run_id, product_id, status, score in found:
        milestones = judged.get(run_id, [])
        if status != RunStatus.SUCCEEDED:
            # A run that could not assess the product proves no score and meets no milestone.
            score = None
            milestones = [{**m, "status": "not assessed"} for m in milestones]
        runs.append((product_id, {"score": score, "milestones": milestones}))
    return runs


def _group(score: float | None) -> str:
    if score is None:
        return "not assessable"
    return next(label for label, floor in READINESS_GROUPS if score >= floor)


def pqc_migration(session: Session, principal: Principal) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(products per readiness group, products per milestone and status)."""
    count = select(func.count()).select_from(Product)
    count = within_reach(count, Product.organisation_id, principal, PERMISSION)
    total = session.scalar(count) or 0
    scores: dict[int, list[float | None]] = {}
    milestones: dict[tuple[int, str], str] = {}
    for product_id, run in _latest_runs(session, principal):
        scores.setdefault(product_id, []).append(run["score"])
        for milestone in run.get("milestones", []):
            key = (product_id, milestone["id"])
            if milestone["status"] == "not assessed":
                milestones.setdefault(key, "not assessed")
            elif milestone["status"] == "not met" or milestones.get(key) == "not met":
                milestones[key] = "not met"
            else:
                milestones[key] = "met"
    # One kind that could not be assessed leaves the weakest link unknown: not assessable.
    groups = pd.Series(
        [_group(None if None in found else min(found)) for found in scores.values()],  # type: ignore[type-var]
        dtype="object",
    )
    readiness = groups.value_counts().reindex(
        [label for label, _ in READINESS_GROUPS] + ["not assessable"], fill_value=0
    )
    readiness["not checked"] = total - len(scores)
    by_group = readiness.rename_axis("readiness").reset_index(name="products")
    by_milestone = (
        pd.DataFrame(
            [(milestone, status) for (_, milestone), status in milestones.items()],
            columns=["milestone", "status"],
        )
        .groupby(["milestone", "status"])
        .size()
        .reset_index(name="products")
    )
    return by_group, by_milestone


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
