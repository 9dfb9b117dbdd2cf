"""Estate dashboards from stored posture snapshots, aggregated here so pages stay light.

Every figure comes from the two latest snapshot runs (`assure score --snapshot`, or the scheduled
run): the latest gives the current picture, the one before it the trend and the movers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal, visible_organisations
from posture.identity.scoped import Query, within_reach
from posture.storage.models import Organisation, PostureSnapshot, Product
from posture.storage.models.enums import OrgKind, SubjectKind

PERMISSION = "posture.dashboard"
# A movement smaller than this is noise from confidence decay, not a change to act on.
MOVER_THRESHOLD = 1.0
PRODUCT_COLUMNS = ["product_id", "product", "supplier", "score", "confidence", "band"]


@dataclass(frozen=True)
class SnapshotRuns:
    latest: datetime | None
    previous: datetime | None


def snapshot_runs(session: Session, principal: Principal) -> SnapshotRuns:
    visible_organisations(principal, PERMISSION)
    times = session.scalars(
        select(PostureSnapshot.taken_at)
        .distinct()
        .order_by(PostureSnapshot.taken_at.desc())
        .limit(2)
    ).all()
    return SnapshotRuns(times[0] if times else None, times[1] if len(times) > 1 else None)


def _scoped(query: Query, principal: Principal) -> Query:
    return within_reach(query, PostureSnapshot.organisation_id, principal, PERMISSION)


def _products_at(session: Session, principal: Principal, taken_at: datetime) -> pd.DataFrame:
    # Only the fields needed are read out of the JSON detail: parsing 10,000 whole documents
    # would be most of the page's time.
    query = (
        select(
            PostureSnapshot.product_id,
            Product.name.label("product"),
            Organisation.name.label("supplier"),
            PostureSnapshot.score,
            PostureSnapshot.confidence,
            PostureSnapshot.band,
            PostureSnapshot.detail["contradicted"].as_integer(),
        )
        .join(Product, Product.id == PostureSnapshot.product_id)
        .join(Organisation, Organisation.id == PostureSnapshot.organisation_id)
        .where(
            PostureSnapshot.taken_at == taken_at,
            PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
        )
    )
    frame = pd.DataFrame(
        session.execute(_scoped(query, principal)).all(), columns=[*PRODUCT_COLUMNS, "contradicted"]
    )
    frame["contradicted"] = frame["contradicted"].fillna(0).astype(int)
    return frame


def _bands_at(session: Session, principal: Principal, taken_at: datetime) -> pd.DataFrame:
    query = select(
        PostureSnapshot.product_id,
        PostureSnapshot.score.label("previous_score"),
        PostureSnapshot.band.label("previous_band"),
    ).where(
        PostureSnapshot.taken_at == taken_at,
        PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
    )
    return pd.DataFrame(
        session.execute(_scoped(query, principal)).all(),
        columns=["product_id", "previous_score", "previous_band"],
    )


def _trend_arrow(change: float) -> str:
    if pd.isna(change):
        return "new"
    if change >= MOVER_THRESHOLD:
        return "▲"
    if change <= -MOVER_THRESHOLD:
        return "▼"
    return "▶"


def product_standings(session: Session, principal: Principal) -> pd.DataFrame:
    """Every product in the latest run with its change since the run before, best first."""
    runs = snapshot_runs(session, principal)
    if runs.latest is None:
        return pd.DataFrame(
            columns=[*PRODUCT_COLUMNS, "contradicted", "previous_band", "change", "trend"]
        )
    frame = _products_at(session, principal, runs.latest)
    if runs.previous is not None:
        frame = frame.merge(
            _bands_at(session, principal, runs.previous), on="product_id", how="left"
        )
    else:
        frame["previous_score"], frame["previous_band"] = float("nan"), None
    frame["change"] = (frame["score"] - frame["previous_score"]).round(2)
    frame["trend"] = frame["change"].map(_trend_arrow)
    frame["score"] = frame["score"].round(2)
    frame["confidence"] = (frame["confidence"] * 100).round(1)
    frame = frame.drop(columns=["previous_score"])
    return frame.sort_values(["score", "product"], ascending=[False, True], ignore_index=True)


def league_page(
    standings: pd.DataFrame, bands: list[str], search: str, page: int, page_size: int = 50
) -> tuple[pd.DataFrame, int]:
    """One page of the league table after filtering, and how many rows matched."""
    matched = standings
    if bands:
        matched = matched[matched["band"].isin(bands)]
    if search.strip():
        needle = search.strip().casefold()
        matched = matched[
            matched["product"].str.casefold().str.contains(needle, regex=False)
            | matched["supplier"].str.casefold().str.contains(needle, regex=False)
        ]
    start = max(page - 1, 0) * page_size
    return matched.iloc[start : start + page_size].reset_index(drop=True), len(matched)


def movers(standings: pd.DataFrame, limit: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(biggest regressions, biggest improvements) between the two latest runs."""
    moved = standings.dropna(subset=["change"])
    moved = moved[moved["change"].abs() >= MOVER_THRESHOLD]
    columns = ["product", "supplier", "previous_band", "band", "change"]
    regressions = moved[moved["change"] < 0].nsmallest(limit, "change")[columns]
    improvements = moved[moved["change"] > 0].nlargest(limit, "change")[columns]
    return regressions.reset_index(drop=True), improvements.reset_index(drop=True)


def force_heatmap(session: Session, principal: Principal) -> pd.DataFrame:
    """Long form (force, objective, score) from each force's latest snapshot."""
    runs = snapshot_runs(session, principal)
    columns = ["force", "objective", "score"]
    if runs.latest is None:
        return pd.DataFrame(columns=columns)
    query = (
        select(Organisation.name, PostureSnapshot.detail)
        .join(Organisation, Organisation.id == PostureSnapshot.organisation_id)
        .where(
            PostureSnapshot.taken_at == runs.latest,
            PostureSnapshot.subject_kind == SubjectKind.ORGANISATION,
            Organisation.kind == OrgKind.FORCE,
        )
    )
    cells = [
        (force, objective, score)
        for force, detail in session.execute(_scoped(query, principal))
        for objective, score in sorted(detail.get("objectives", {}).items())
    ]
    return pd.DataFrame(cells, columns=columns)


def weakest_objectives(heatmap: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Objectives by mean score across forces and products, weakest first."""
    frames = [frame[["objective", "score"]] for frame in (heatmap, products) if not frame.empty]
    combined = pd.concat(frames, ignore_index=True).dropna() if frames else pd.DataFrame()
    if combined.empty:
        return pd.DataFrame(columns=["objective", "mean_score", "below_50", "subjects"])
    grouped = combined.groupby("objective")["score"]
    table = pd.DataFrame(
        {
            "mean_score": grouped.mean().round(1),
            "below_50": grouped.apply(lambda s: int((s < 50).sum())),
            "subjects": grouped.count(),
        }
    ).reset_index()
    return table.sort_values("mean_score", ignore_index=True)


def product_objectives(session: Session, principal: Principal) -> pd.DataFrame:
    """Long form (product_id, objective, score) for the latest run."""
    runs = snapshot_runs(session, principal)
    if runs.latest is None:
        return pd.DataFrame(columns=["product_id", "objective", "score"])
    query = select(PostureSnapshot.product_id, PostureSnapshot.detail["objectives"]).where(
        PostureSnapshot.taken_at == runs.latest,
        PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
    )
    cells = [
        (product_id, objective, score)
        for product_id, objectives in session.execute(_scoped(query, principal))
        for objective, score in (objectives or {}).items()
    ]
    return pd.DataFrame(cells, columns=["product_id", "objective", "score"])


def estate_trend(session: Session, principal: Principal) -> pd.DataFrame:
    """Mean score and subject count per snapshot run and subject kind, oldest first."""
    query = (
        select(
            PostureSnapshot.taken_at,
            PostureSnapshot.subject_kind,
            func.avg(PostureSnapshot.score),
            func.count(),
        )
        .group_by(PostureSnapshot.taken_at, PostureSnapshot.subject_kind)
        .order_by(PostureSnapshot.taken_at)
    )
    rows = [
        (taken_at, str(kind), round(float(mean), 2), count)
        for taken_at, kind, mean, count in session.execute(_scoped(query, principal))
    ]
    return pd.DataFrame(rows, columns=["taken_at", "kind", "mean_score", "subjects"])
