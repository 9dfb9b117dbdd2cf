"""Saved shortlist versions: listed (when, by whom, by which weights), reopened exactly as
saved, and compared: which products entered, left or moved between two versions, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.storage.models import Organisation, ShortlistRequirement, ShortlistVersion, User
from supplier_portal.procurement.shortlisting_policy import Criterion
from supplier_portal.procurement.shortlists import (
    COMPONENT_ORDER,
    ProductInputs,
    load_version,
    saved_inputs,
)


@dataclass(frozen=True)
class VersionSummary:
    id: int
    version: int
    saved_at: datetime
    saved_by: str
    weights: tuple[tuple[str, int], ...]  # (criterion key, weight %) in the order weighed
    ranked: int
    excluded: int
    leader: str | None  # the product ranked first

    @property
    def criteria_text(self) -> str:
        return weights_text(dict(self.weights))


def weights_text(weights: dict[str, int]) -> str:
    return ", ".join(f"{Criterion(key).label} {weight}%" for key, weight in weights.items())


def _saved_by(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return "unknown"
    return user.display_name or user.email


def _summary(
    session: Session, version: ShortlistVersion, requirement: ShortlistRequirement
) -> VersionSummary:
    _, weights = saved_inputs(version, requirement)
    ranked = [r for r in version.ranking if r["rank"] is not None]
    return VersionSummary(
        id=version.id,
        version=version.version,
        saved_at=version.created_at,
        saved_by=_saved_by(session, version.created_by_user_id),
        weights=tuple((c["key"], int(c["weight"])) for c in weights),
        ranked=len(ranked),
        excluded=len(version.ranking) - len(ranked),
        leader=min(ranked, key=lambda r: r["rank"])["product"] if ranked else None,
    )


def list_versions(
    session: Session, principal: Principal, requirement_id: int
) -> list[VersionSummary]:
    """Every saved version of the requirement, newest first."""
    requirement = load_visible(
        session, ShortlistRequirement, requirement_id, principal, "shortlist.manage", "requirement"
    )
    versions = session.scalars(
        select(ShortlistVersion)
        .where(ShortlistVersion.requirement_id == requirement_id)
        .order_by(ShortlistVersion.version.desc())
    )
    return [_summary(session, version, requirement) for version in versions]


def version_summary(session: Session, principal: Principal, version_id: int) -> VersionSummary:
    version = load_version(session, principal, version_id)
    requirement = session.get(ShortlistRequirement, version.requirement_id)
    assert requirement is not None  # a foreign key
    return _summary(session, version, requirement)


def version_inputs(
    session: Session, principal: Principal, version_id: int
) -> tuple[dict[int, ProductInputs], dict[str, int]]:
    """What a saved version was ranked from: each product's inputs and the weights; the
    starting point for the next version."""
    version = load_version(session, principal, version_id)
    requirement = session.get(ShortlistRequirement, version.requirement_id)
    assert requirement is not None
    inputs, weights = saved_inputs(version, requirement)
    return inputs, {c["key"]: int(c["weight"]) for c in weights}


def _named(session: Session, ranking: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with their supplier's name: rows saved before they named it get today's."""
    missing = {r["supplier_id"] for r in ranking if "supplier" not in r}
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(missing))
        ).all()
    )
    return [
        row if "supplier" in row else {**row, "supplier": names.get(row["supplier_id"], "")}
        for row in ranking
    ]


def saved_ranking(session: Session, principal: Principal, version_id: int) -> pd.DataFrame:
    """The version's ranking exactly as saved (never ranked again), in words for the page."""
    version = load_version(session, principal, version_id)
    rows = []
    for row in _named(session, version.ranking):
        rows.append(
            {
                "Rank": row["rank"],
                "Product": row["product"],
                "Supplier": row["supplier"],
                "Total": row["total"],
                **{Criterion(k).heading: row["components"][k] for k in COMPONENT_ORDER},
                "Passes gates": "yes" if row["passes_gates"] else "no",
                "Why": row["why"],
                "Excused outcomes": "; ".join(row.get("exceptions", [])),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ProductChange:
    product: str
    supplier: str
    change: str  # entered, left, moved up, moved down, unchanged, still excluded
    rank_before: int | None
    rank_after: int | None
    total_before: float | None
    total_after: float | None
    reasons: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class VersionComparison:
    before: VersionSummary
    after: VersionSummary
    weight_changes: tuple[str, ...]
    products: tuple[ProductChange, ...] = field(default_factory=tuple)

    def of(self, change: str) -> list[ProductChange]:
        return [p for p in self.products if p.change == change]


def compare_versions(
    session: Session, principal: Principal, before_id: int, after_id: int
) -> VersionComparison:
    """How the ranking changed from version `before_id` to version `after_id` of one
    requirement: the weights that changed, and per product what moved it."""
    if before_id == after_id:
        raise ValidationFailed("choose two different versions to compare")
    before = load_version(session, principal, before_id)
    after = load_version(session, principal, after_id)
    if before.requirement_id != after.requirement_id:
        raise ValidationFailed("compare two versions of the same requirement")
    requirement = session.get(ShortlistRequirement, before.requirement_id)
    assert requirement is not None
    _, weights_list_before = saved_inputs(before, requirement)
    _, weights_list_after = saved_inputs(after, requirement)
    weights_before = {c["key"]: int(c["weight"]) for c in weights_list_before}
    weights_after = {c["key"]: int(c["weight"]) for c in weights_list_after}
    rows_before = {r["product_id"]: r for r in _named(session, before.ranking)}
    rows_after = {r["product_id"]: r for r in _named(session, after.ranking)}
    context = _Context(weights_before, weights_after)
    changes = [
        _product_change(rows_before.get(product_id), rows_after.get(product_id), context)
        for product_id in dict.fromkeys([*rows_after, *rows_before])
    ]
    order = {"entered": 0, "moved up": 1, "moved down": 2, "left": 3, "unchanged": 4}
    changes.sort(
        key=lambda c: (order.get(c.change, 5), c.rank_after or c.rank_before or 0, c.product)
    )
    return VersionComparison(
        before=_summary(session, before, requirement),
        after=_summary(session, after, requirement),
        weight_changes=tuple(_weight_changes(weights_before, weights_after)),
        products=tuple(changes),
    )


def _weight_changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    changes = []
    for key in dict.fromkeys([*before, *after]):
        label = Criterion(key).label
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None:
            changes.append(f"{label} now weighed at {now}% (not weighed before)")
        elif now is None:
            changes.append(f"{label} no longer weighed (was {was}%)")
        else:
            changes.append(f"{label} weighs {now}% (was {was}%)")
    return changes


@dataclass(frozen=True)
class _Context:
    weights_before: dict[str, int]
    weights_after: dict[str, int]


def _product_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, context: _Context
) -> ProductChange:
    row = after or before
    assert row is not None
    rank_before = before["rank"] if before else None
    rank_after = after["rank"] if after else None
    if rank_before is None and rank_after is not None:
        change = "entered"
    elif rank_before is not None and rank_after is None:
        change = "left"
    elif rank_before is None:
        change = "unchanged"  # excluded both times (or not listed, then excluded)
    elif rank_after < rank_before:  # type: ignore[operator]
        change = "moved up"
    elif rank_after > rank_before:  # type: ignore[operator]
        change = "moved down"
    else:
        change = "unchanged"
    reasons = _reasons(before, after, context)
    if change.startswith("moved") and not reasons:
        reasons = ["its own scores did not change; other products' totals did"]
    return ProductChange(
        product=row["product"],
        supplier=row["supplier"],
        change=change,
        rank_before=rank_before,
        rank_after=rank_after,
        total_before=before["total"] if before else None,
        total_after=after["total"] if after else None,
        reasons=tuple(reasons),
    )


def _reasons(
    before: dict[str, Any] | None, after: dict[str, Any] | None, context: _Context
) -> list[str]:
    if before is None:
        return ["newly listed on the requirement's lots"]
    if after is None:
        return ["no longer listed on the requirement's lots"]
    reasons = []
    if before["passes_gates"] and not after["passes_gates"]:
        reasons.append(after["why"])  # "excluded: <gate> (<reason>)"
    elif not before["passes_gates"] and after["passes_gates"]:
        reasons.append("now passes every gate")
    weighed = dict.fromkeys([*context.weights_before, *context.weights_after])
    for key in weighed:
        label = Criterion(key).label
        was, now = context.weights_before.get(key, 0), context.weights_after.get(key, 0)
        score_was, score_now = before["components"][key], after["components"][key]
        if score_was != score_now:
            reasons.append(f"{label} score {score_now:g} (was {score_was:g})")
            if key == Criterion.PRICE:
                reasons[-1] += _price_change(before, after)
        if was != now and (was * score_was or now * score_now):
            reasons.append(f"{label} weighs {now}% (was {was}%)")
    if not reasons and before["total"] != after["total"]:
        reasons.append(f"total {after['total']:g} (was {before['total']:g})")
    return reasons


def _price_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    was, now = before.get("price"), after.get("price")
    if was == now or was is None or now is None:
        return " (the cheapest price changed)" if was == now else ""
    return f" at £{now:,.2f} (was £{was:,.2f})"
