"""The dashboards' tables as people read them: headings in words, objectives by name beside
their letter, bands and trends in words, and the league table filtered once for both the page
and its downloads, so an export holds exactly the rows the filters show.

posture.dashboards reads the data (columns keep their data names, for services and tests);
this module only renames and words it. Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from frameworks.library import shipped_library
from frameworks.loader import DEFAULT_FRAMEWORK, LoadedFramework, default_framework
from posture.storage.models.enums import SubjectKind
from pq_crypto.catalogue import algorithm_index

PRODUCT = "Product"
SUPPLIER = "Supplier"
SCORE = "Score (out of 100)"
BAND = "Band"
OBJECTIVE = "Objective"
SNAPSHOT = "Snapshot"
LEAGUE_HEADINGS = {
    "product": PRODUCT,
    "supplier": SUPPLIER,
    "score": SCORE,
    "confidence": "Confidence (%)",
    "band": BAND,
    "contradicted": "Claims contradicted by checks",
    "previous_band": "Band at the snapshot before",
    "change": "Change in score",
    "trend": "Trend",
}
MOVER_HEADINGS = {
    "product": PRODUCT,
    "supplier": SUPPLIER,
    "previous_band": "Band before",
    "band": "Band now",
    "change": "Change in score",
}
WEAKEST_HEADINGS = {
    "objective": OBJECTIVE,
    "mean_score": "Mean score",
    "below_50": "Scored below 50",
    "subjects": "Products and forces scored",
}
TREND_WORDS = {"▲": "▲ up", "▼": "▼ down", "▶": "▶ level", "new": "new"}
# A product with no snapshot in the run before the latest.
NOT_SCORED_THEN = "not scored then"
KIND_WORDS = {
    SubjectKind.PRODUCT.value: "Products",
    SubjectKind.ORGANISATION.value: "Forces and suppliers",
}
READINESS_WORDS = {
    "ready": "Ready",
    "migrating": "Migrating",
    "exposed": "Exposed",
    "not assessable": "Could not be assessed",
    "not checked": "Not checked",
}
Framework = tuple[str, str]


def _loaded(framework: Framework | None) -> LoadedFramework | None:
    key = framework or DEFAULT_FRAMEWORK
    if key == DEFAULT_FRAMEWORK:
        return default_framework()
    return shipped_library().frameworks.get((key[0], key[1]))


def framework_title(framework: Framework | None = None) -> str:
    """ "PoliceTech Secure by Design 1.0": the framework's title and version (the default when
    None); the id and version for one this release does not ship."""
    loaded = _loaded(framework)
    if loaded is None:
        framework_id, version = framework or DEFAULT_FRAMEWORK
        return f"{framework_id} {version}"
    return f"{loaded.framework.title} {loaded.framework.version}"


def objective_labels(framework: Framework | None = None) -> dict[str, str]:
    """Each objective's id to "A Govern security risk", from the framework the scores are
    against (the default when None; an unshipped one leaves ids as they are)."""
    loaded = _loaded(framework)
    if loaded is None:
        return {}
    return {o.id: f"{o.id} {o.title}" for o in loaded.framework.objectives}


def _objective(labels: dict[str, str], objective: str) -> str:
    return labels.get(objective, objective)


def league_rows(standings: pd.DataFrame, bands: Sequence[str], search: str) -> pd.DataFrame:
    """Every standing the filters keep (bands chosen, supplier or product containing `search`,
    case-insensitively), in league order: the page shows a page of these, an export all."""
    matched = standings
    if bands:
        matched = matched[matched["band"].isin(list(bands))]
    needle = search.strip().casefold()
    if needle:
        matched = matched[
            matched["product"].str.casefold().str.contains(needle, regex=False)
            | matched["supplier"].str.casefold().str.contains(needle, regex=False)
        ]
    return matched.reset_index(drop=True)


def league_table(rows: pd.DataFrame) -> pd.DataFrame:
    """League rows in words (the product id is kept, unheaded, for links)."""
    worded = rows.assign(
        previous_band=rows["previous_band"].fillna(NOT_SCORED_THEN).replace("", NOT_SCORED_THEN),
        trend=rows["trend"].map(lambda t: TREND_WORDS.get(t, t)),
    )
    return worded[["product_id", *LEAGUE_HEADINGS]].rename(columns=LEAGUE_HEADINGS)


def league_export(rows: pd.DataFrame) -> pd.DataFrame:
    """What the CSV and XLSX downloads hold: the filtered rows, headed as on the page."""
    return league_table(rows).drop(columns=["product_id"])


def movers_table(movers: pd.DataFrame) -> pd.DataFrame:
    return movers.assign(previous_band=movers["previous_band"].fillna(NOT_SCORED_THEN)).rename(
        columns=MOVER_HEADINGS
    )


def weakest_table(weakest: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    return weakest.assign(objective=[_objective(labels, o) for o in weakest["objective"]]).rename(
        columns=WEAKEST_HEADINGS
    )


def heatmap_table(heatmap: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Long form (Force, Objective, Score) for the chart, objectives by name."""
    return pd.DataFrame(
        {
            "Force": heatmap["force"].astype(str),
            OBJECTIVE: [_objective(labels, o) for o in heatmap["objective"]],
            "Score": heatmap["score"].astype(float).round(1),
        }
    )


def heatmap_grid(cells: pd.DataFrame) -> pd.DataFrame:
    """The heatmap's numbers as a table, a force per row: its text alternative. A force with
    no score for an objective has an empty cell."""
    if cells.empty:
        return pd.DataFrame(columns=["Force"])
    grid = cells.pivot_table(index="Force", columns=OBJECTIVE, values="Score", aggfunc="first")
    return grid.reset_index().rename_axis(columns=None)


def trend_table(trend: pd.DataFrame) -> pd.DataFrame:
    """Mean score per snapshot run and kind of subject, in words, oldest first."""
    return pd.DataFrame(
        {
            SNAPSHOT: pd.to_datetime(trend["taken_at"]),
            "Subjects": [KIND_WORDS.get(str(k), str(k)) for k in trend["kind"]],
            "Mean score": trend["mean_score"].astype(float),
            "Subjects scored": trend["subjects"].astype(int),
        }
    )


def band_trend_table(counts: pd.DataFrame, bands: Sequence[str]) -> pd.DataFrame:
    """Products per band at each snapshot run, a run per row and a column per band (best
    first), zero where a band had none: the band trend's numbers."""
    if counts.empty:
        return pd.DataFrame(columns=[SNAPSHOT, *bands])
    grid = counts.pivot_table(
        index="taken_at", columns="band", values="products", aggfunc="sum", fill_value=0
    )
    grid = grid.reindex(columns=list(bands), fill_value=0).astype(int)
    grid.index = pd.to_datetime(grid.index)
    return grid.rename_axis(index=SNAPSHOT, columns=None).reset_index()


def readiness_table(readiness: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Readiness": [READINESS_WORDS.get(r, r) for r in readiness["readiness"]],
            "Products": readiness["products"].astype(int),
        }
    )


def milestone_table(milestones: pd.DataFrame) -> pd.DataFrame:
    """Products per NCSC milestone and status, a milestone per row, named and dated."""
    if milestones.empty:
        return pd.DataFrame(columns=["Milestone"])
    names = {
        m.id: f"{m.title} (by {m.date:%d %b %Y})" for m in algorithm_index().catalogue.milestones
    }
    grid = milestones.pivot_table(
        index="milestone", columns="status", values="products", aggfunc="sum", fill_value=0
    ).astype(int)
    # Met, not met, then not assessed: what was judged before what was not.
    order = ["met", "not met", "not assessed"]
    grid = grid[[c for c in order if c in grid.columns] + [c for c in grid if c not in order]]
    grid.columns = [str(c).capitalize() for c in grid.columns]
    grid.index = [names.get(m, m) for m in grid.index]
    return grid.rename_axis(index="Milestone").reset_index()
