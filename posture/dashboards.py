"""Estate dashboards from stored posture snapshots, aggregated here so pages stay light.

Every figure comes from the two latest snapshot runs (`assure score --snapshot`, or the scheduled
run): the latest gives the current picture, the one before it the trend and the movers. Each
read is one Core select of the columns it shows (objective scores from their side table), with
aggregates left to the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from frameworks.loader import DEFAULT_FRAMEWORK
from kernel.collector import collector_paused
from posture.dashboard_tables import league_rows
from posture.identity.permissions import Principal, visible_organisations
from posture.identity.scoped import Query, within_reach
from posture.storage.models import (
    CheckRun,
    FrameworkVersion,
    Organisation,
    PostureSnapshot,
    Product,
)
from posture.storage.models.enums import OrgKind, SubjectKind
from posture.storage.models.posture import PostureSnapshotObjective

PERMISSION = "posture.dashboard"
# A movement smaller than this is noise from confidence decay, not a change to act on.
MOVER_THRESHOLD = 1.0
PRODUCT_COLUMNS = ["product_id", "product", "supplier", "score", "confidence", "band"]
STANDINGS_COLUMNS = [*PRODUCT_COLUMNS, "contradicted", "previous_band", "change", "trend"]
# What a run's product rows are read as; every column is NOT NULL for a product's snapshot.
PRODUCT_TYPES = dict(
    zip(
        [*PRODUCT_COLUMNS, "contradicted"],
        ["int64", "str", "str", "float64", "float64", "str", "int64"],
        strict=True,
    )
)
PREVIOUS_TYPES = {"product_id": "int64", "previous_score": "float64", "previous_band": "str"}
WEAKEST_COLUMNS = ["objective", "mean_score", "below_50", "subjects"]
# Below this an objective counts as weak in the "weakest objectives" table.
WEAK_SCORE = 50.0


@dataclass(frozen=True)
class SnapshotRuns:
    latest: datetime | None
    previous: datetime | None
    # The newest snapshot row: changes whenever any run is stored, even one dated in the past.
    newest_id: int | None = None
    # Scores against different frameworks are not comparable: every view reads one framework's.
    framework_version_id: int | None = None


def dashboard_scope(principal: Principal) -> tuple[int, ...] | None:
    """The organisations whose snapshots the principal sees here (None: all), as a stable key.

    Anything cached for the dashboards is keyed on this, so two users share an entry only when
    they see exactly the same rows. PermissionDenied for roles without the dashboards.
    """
    visible = visible_organisations(principal, PERMISSION)
    return None if visible is None else tuple(sorted(visible))


def snapshot_runs(
    session: Session, principal: Principal, framework: tuple[str, str] | None = None
) -> SnapshotRuns:
    """The two latest runs against `framework` (framework id, version; PTSbD when None)."""
    visible_organisations(principal, PERMISSION)
    framework_id, version = framework or DEFAULT_FRAMEWORK
    version_id = session.scalar(
        select(FrameworkVersion.id).where(
            FrameworkVersion.framework_id == framework_id, FrameworkVersion.version == version
        )
    )
    if version_id is None:
        return SnapshotRuns(None, None)
    times = session.scalars(
        select(PostureSnapshot.taken_at)
        .where(PostureSnapshot.framework_version_id == version_id)
        .distinct()
        .order_by(PostureSnapshot.taken_at.desc())
        .limit(2)
    ).all()
    newest_id = session.scalar(select(func.max(PostureSnapshot.id)))
    return SnapshotRuns(
        times[0] if times else None, times[1] if len(times) > 1 else None, newest_id, version_id
    )


def snapshot_frameworks(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The framework versions that have snapshots, the default first: what a viewer can pick."""
    visible_organisations(principal, PERMISSION)
    keys = session.execute(
        select(FrameworkVersion.framework_id, FrameworkVersion.version)
        .where(
            select(PostureSnapshot.id)
            .where(PostureSnapshot.framework_version_id == FrameworkVersion.id)
            .exists()
        )
        .order_by(FrameworkVersion.framework_id, FrameworkVersion.version)
    ).all()
    found = [(framework_id, version) for framework_id, version in keys]
    return sorted(found, key=lambda key: key != DEFAULT_FRAMEWORK)


def newest_check_run_id(session: Session) -> int | None:
    """Check runs are recorded finished and never changed, so the newest id versions them all."""
    return session.scalar(select(func.max(CheckRun.id)))


def _scoped(query: Query, principal: Principal) -> Query:
    return within_reach(query, PostureSnapshot.organisation_id, principal, PERMISSION)


def _rows(session: Session, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The query's rows as the driver's plain tuples.

    Only for columns that need no result processing (numbers and text): at 50,000 products,
    SQLAlchemy's row objects and the garbage collection they set off cost more than the query.
    """
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()


def _frame(session: Session, query: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(_rows(session, query), columns=list(columns))


def _typed_frame(session: Session, query: Select[Any], dtypes: dict[str, str]) -> pd.DataFrame:
    """_frame for columns that are never NULL, built a column at a time with the types given:
    pandas inferring each column from 50,000 tuples cost more than reading them."""
    with collector_paused():
        rows = _rows(session, query)
        # Typed when empty too: a viewer with no products gets an empty league, not object
        # columns that the movers cannot rank.
        values = zip(*rows, strict=True) if rows else [()] * len(dtypes)
        return pd.DataFrame(
            {
                name: pd.array(column, dtype="str") if dtype == "str" else np.array(column, dtype)
                for (name, dtype), column in zip(dtypes.items(), values, strict=True)
            }
        )


def _run(runs: SnapshotRuns, taken_at: datetime, kind: SubjectKind) -> tuple[Any, ...]:
    return (
        PostureSnapshot.taken_at == taken_at,
        PostureSnapshot.subject_kind == kind,
        PostureSnapshot.framework_version_id == runs.framework_version_id,
    )


def _products_at(
    session: Session, principal: Principal, runs: SnapshotRuns, taken_at: datetime
) -> pd.DataFrame:
    query = (
        select(
            PostureSnapshot.product_id,
            Product.name,
            Organisation.name,
            PostureSnapshot.score,
            PostureSnapshot.confidence,
            PostureSnapshot.band,
            PostureSnapshot.contradicted,
        )
        .join(Product, Product.id == PostureSnapshot.product_id)
        .join(Organisation, Organisation.id == PostureSnapshot.organisation_id)
        .where(*_run(runs, taken_at, SubjectKind.PRODUCT))
    )
    return _typed_frame(session, _scoped(query, principal), PRODUCT_TYPES)


def _bands_at(
    session: Session, principal: Principal, runs: SnapshotRuns, taken_at: datetime
) -> pd.DataFrame:
    query = select(PostureSnapshot.product_id, PostureSnapshot.score, PostureSnapshot.band).where(
        *_run(runs, taken_at, SubjectKind.PRODUCT)
    )
    return _typed_frame(session, _scoped(query, principal), PREVIOUS_TYPES)


def _trend_arrows(change: pd.Series) -> np.ndarray:
    return np.select(
        [change.isna(), change >= MOVER_THRESHOLD, change <= -MOVER_THRESHOLD],
        ["new", "▲", "▼"],
        default="▶",
    ).astype(object)


def product_standings(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Every product in the latest run with its change since the run before, best first."""
    runs = runs or snapshot_runs(session, principal)
    if runs.latest is None:
        return pd.DataFrame(columns=STANDINGS_COLUMNS)
    frame = _products_at(session, principal, runs, runs.latest)
    if runs.previous is not None:
        previous = _bands_at(session, principal, runs, runs.previous)
        frame = frame.merge(previous, on="product_id", how="left")
    else:
        frame["previous_score"], frame["previous_band"] = float("nan"), None
    frame["contradicted"] = frame["contradicted"].astype(int)
    frame["change"] = (frame["score"] - frame["previous_score"].astype(float)).round(2)
    frame["trend"] = _trend_arrows(frame["change"])
    frame["score"] = frame["score"].astype(float).round(2)
    frame["confidence"] = (frame["confidence"].astype(float) * 100).round(1)
    frame = frame.drop(columns=["previous_score"])
    return frame.sort_values(["score", "product"], ascending=[False, True], ignore_index=True)


def league_page(
    standings: pd.DataFrame, bands: list[str], search: str, page: int, page_size: int = 50
) -> tuple[pd.DataFrame, int]:
    """One page of the league table after filtering, and how many rows matched."""
    matched = league_rows(standings, bands, search)
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


def force_heatmap(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Long form (force, objective, score) from each force's latest snapshot."""
    runs = runs or snapshot_runs(session, principal)
    columns = ["force", "objective", "score"]
    if runs.latest is None:
        return pd.DataFrame(columns=columns)
    query = (
        select(
            Organisation.name,
            PostureSnapshotObjective.objective_id,
            PostureSnapshotObjective.score,
        )
        .select_from(PostureSnapshot)
        .join(Organisation, Organisation.id == PostureSnapshot.organisation_id)
        .join(PostureSnapshotObjective, PostureSnapshotObjective.snapshot_id == PostureSnapshot.id)
        .where(
            *_run(runs, runs.latest, SubjectKind.ORGANISATION), Organisation.kind == OrgKind.FORCE
        )
        .order_by(Organisation.name, PostureSnapshotObjective.objective_id)
    )
    return _frame(session, _scoped(query, principal), columns)


def weakest_objectives(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Objectives by mean score across forces and products in the latest run, weakest first.

    A subject with no score for an objective is left out of its mean, not counted as zero.
    """
    runs = runs or snapshot_runs(session, principal)
    if runs.latest is None:
        return pd.DataFrame(columns=WEAKEST_COLUMNS)
    score = PostureSnapshotObjective.score
    query = (
        select(
            PostureSnapshotObjective.objective_id,
            func.avg(score),
            func.sum(case((score < WEAK_SCORE, 1), else_=0)),
            func.count(score),
        )
        .select_from(PostureSnapshot)
        .join(PostureSnapshotObjective, PostureSnapshotObjective.snapshot_id == PostureSnapshot.id)
        .join(Organisation, Organisation.id == PostureSnapshot.organisation_id)
        .where(
            PostureSnapshot.taken_at == runs.latest,
            PostureSnapshot.framework_version_id == runs.framework_version_id,
            score.is_not(None),
            or_(
                PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
                Organisation.kind == OrgKind.FORCE,
            ),
        )
        .group_by(PostureSnapshotObjective.objective_id)
    )
    table = _frame(session, _scoped(query, principal), WEAKEST_COLUMNS)
    table["mean_score"] = table["mean_score"].astype(float).round(1)
    table[["below_50", "subjects"]] = table[["below_50", "subjects"]].astype(int)
    return table.sort_values(["mean_score", "objective"], ignore_index=True)


def product_objectives(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Long form (product_id, objective, score) for the latest run; no score where unscored."""
    runs = runs or snapshot_runs(session, principal)
    columns = ["product_id", "objective", "score"]
    if runs.latest is None:
        return pd.DataFrame(columns=columns)
    query = (
        select(
            PostureSnapshot.product_id,
            PostureSnapshotObjective.objective_id,
            PostureSnapshotObjective.score,
        )
        .join(PostureSnapshotObjective, PostureSnapshotObjective.snapshot_id == PostureSnapshot.id)
        .where(*_run(runs, runs.latest, SubjectKind.PRODUCT))
        .order_by(PostureSnapshot.product_id, PostureSnapshotObjective.objective_id)
    )
    return _frame(session, _scoped(query, principal), columns)


def estate_trend(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Mean score and subject count per snapshot run and subject kind, oldest first."""
    runs = runs or snapshot_runs(session, principal)
    query = (
        select(
            PostureSnapshot.taken_at,
            PostureSnapshot.subject_kind,
            func.avg(PostureSnapshot.score),
            func.count(),
        )
        .where(PostureSnapshot.framework_version_id == runs.framework_version_id)
        .group_by(PostureSnapshot.taken_at, PostureSnapshot.subject_kind)
        .order_by(PostureSnapshot.taken_at)
    )
    rows = [
        (taken_at, str(kind), round(float(mean), 2), count)
        for taken_at, kind, mean, count in session.execute(_scoped(query, principal))
    ]
    return pd.DataFrame(rows, columns=["taken_at", "kind", "mean_score", "subjects"])


def band_trend(
    session: Session, principal: Principal, runs: SnapshotRuns | None = None
) -> pd.DataFrame:
    """Products per band at every snapshot run (taken_at, band, products), oldest first."""
    runs = runs or snapshot_runs(session, principal)
    query = (
        select(PostureSnapshot.taken_at, PostureSnapshot.band, func.count())
        .where(
            PostureSnapshot.framework_version_id == runs.framework_version_id,
            PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
        )
        .group_by(PostureSnapshot.taken_at, PostureSnapshot.band)
        .order_by(PostureSnapshot.taken_at, PostureSnapshot.band)
    )
    rows = [(t, str(b), int(n)) for t, b, n in session.execute(_scoped(query, principal))]
    return pd.DataFrame(rows, columns=["taken_at", "band", "products"])


@dataclass(frozen=True)
class EstateView:
    """Everything the dashboards show that depends only on the snapshots and the viewer's scope."""

    runs: SnapshotRuns
    standings: pd.DataFrame
    heatmap: pd.DataFrame
    weakest: pd.DataFrame
    trend: pd.DataFrame
    regressions: pd.DataFrame
    improvements: pd.DataFrame
    bands: pd.DataFrame


def estate_view(session: Session, principal: Principal, runs: SnapshotRuns) -> EstateView:
    standings = product_standings(session, principal, runs)
    regressions, improvements = movers(standings)
    return EstateView(
        runs=runs,
        standings=standings,
        heatmap=force_heatmap(session, principal, runs),
        weakest=weakest_objectives(session, principal, runs),
        trend=estate_trend(session, principal, runs),
        regressions=regressions,
        improvements=improvements,
        bands=band_trend(session, principal, runs),
    )
