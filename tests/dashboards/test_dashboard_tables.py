"""The dashboards' tables for people (service level): headings in words, objectives named from
the framework the scores are against, bands and trends in words, and the league table filtered
once, so a download holds exactly the rows the filters keep."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd

from frameworks.library import shipped_library
from frameworks.loader import default_framework
from posture.dashboard_tables import (
    NOT_SCORED_THEN,
    band_trend_table,
    heatmap_grid,
    heatmap_table,
    league_export,
    league_rows,
    league_table,
    milestone_table,
    movers_table,
    objective_labels,
    readiness_table,
    trend_table,
    weakest_table,
)
from posture.dashboards import (
    band_trend,
    estate_trend,
    force_heatmap,
    movers,
    product_standings,
    weakest_objectives,
)
from posture.exports import to_csv
from posture.scoring.bands import band_names
from posture.storage.models.enums import Role
from tests.dashboards.conftest import EARLIER, LATER, Db

SNAKE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")


def _standings() -> pd.DataFrame:
    """Four products across two suppliers, one new since the run before; one name a
    spreadsheet would run as a formula."""
    return pd.DataFrame(
        {
            "product_id": [1, 2, 3, 4],
            "product": ["Vault", "=HYPERLINK(1)", "Camera", "Mapper"],
            "supplier": ["Acme Ltd", "Acme Ltd", "Borders plc", "Borders plc"],
            "score": [91.0, 72.5, 55.0, 40.0],
            "confidence": [80.0, 70.0, 60.0, 50.0],
            "band": ["A", "B", "C", "D"],
            "contradicted": [0, 1, 0, 0],
            "previous_band": ["A", "C", None, "D"],
            "change": [0.5, 8.0, float("nan"), -3.0],
            "trend": ["▶", "▲", "new", "▼"],
        }
    )


def test_an_export_holds_exactly_the_rows_the_filters_keep_headed_in_words() -> None:
    standings = _standings()
    for bands, search, expected in (
        ([], "", [1, 2, 3, 4]),
        (["B", "C"], "", [2, 3]),
        ([], "ACME", [1, 2]),
        (["A", "C"], "borders", [3]),
        (["E"], "", []),
    ):
        kept = league_rows(standings, bands, search)
        assert kept["product_id"].tolist() == expected, (bands, search)
        exported = list(csv.DictReader(io.StringIO(to_csv(league_export(kept)))))
        assert len(exported) == len(expected)
        assert [r["Product"].lstrip("'") for r in exported] == [
            standings.set_index("product_id").loc[i, "product"] for i in expected
        ]
    exported = list(
        csv.DictReader(io.StringIO(to_csv(league_export(league_rows(standings, [], "")))))
    )
    headings = list(exported[0])
    assert headings == [
        "Product",
        "Supplier",
        "Score (out of 100)",
        "Confidence (%)",
        "Band",
        "Claims contradicted by checks",
        "Band at the snapshot before",
        "Change in score",
        "Trend",
    ]
    # Still a text cell in a spreadsheet, not a live formula.
    assert exported[1]["Product"] == "'=HYPERLINK(1)"
    # A product new since the run before: in words, and its change an empty cell.
    assert exported[2]["Band at the snapshot before"] == NOT_SCORED_THEN
    assert exported[2]["Change in score"] == ""
    assert [r["Trend"] for r in exported] == ["▶ level", "▲ up", "new", "▼ down"]


def test_the_league_keeps_the_product_id_only_for_its_links() -> None:
    table = league_table(_standings())
    assert table["product_id"].tolist() == [1, 2, 3, 4]
    assert "product_id" not in league_export(_standings()).columns


def test_objectives_are_named_from_the_framework_the_scores_are_against() -> None:
    ptsbd = objective_labels()
    assert ptsbd == {o.id: f"{o.id} {o.title}" for o in default_framework().framework.objectives}
    caf = shipped_library().frameworks[("ncsc-caf", "4.0")]
    assert objective_labels(("ncsc-caf", "4.0")) == {
        o.id: f"{o.id} {o.title}" for o in caf.framework.objectives
    }
    assert objective_labels(("not-shipped", "9")) == {}


def test_every_estate_table_is_in_words(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        standings = product_standings(session, assessor)
        regressions, _ = movers(standings)
        labels = objective_labels()
        tables = {
            "league": league_export(standings),
            "regressions": movers_table(regressions),
            "weakest": weakest_table(weakest_objectives(session, assessor), labels),
            "heatmap": heatmap_grid(heatmap_table(force_heatmap(session, assessor), labels)),
            "trend": trend_table(estate_trend(session, assessor)),
            "bands": band_trend_table(band_trend(session, assessor), band_names()),
        }
    for name, table in tables.items():
        assert not [c for c in table.columns if SNAKE.match(str(c))], name
        cells = [str(v) for v in table.astype(object).to_numpy().ravel() if not pd.isna(v)]
        assert not [c for c in cells if SNAKE.match(c) or c in {"None", "nan"}], (name, cells)
    assert tables["weakest"]["Objective"].tolist() == [labels["B"], labels["A"]]
    assert tables["regressions"]["Band before"].tolist() == ["B"]
    assert set(tables["trend"]["Subjects"]) == {"Products", "Forces and suppliers"}
    assert tables["heatmap"].columns.tolist() == ["Force", labels["A"], labels["B"]]


def test_the_band_trend_counts_products_per_band_at_every_run(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    with sessions() as session:
        counts = band_trend(session, world.principal(Role.NATIONAL_ASSESSOR))
    table = band_trend_table(counts, band_names())
    assert table.columns.tolist() == ["Snapshot", *band_names()]
    by_run = {row["Snapshot"]: row for row in table.to_dict("records")}
    earlier, later = by_run[pd.Timestamp(EARLIER)], by_run[pd.Timestamp(LATER)]
    assert {b: earlier[b] for b in band_names() if earlier[b]} == {"B": 1, "C": 1}
    assert {b: later[b] for b in band_names() if later[b]} == {"C": 2}
    # The forces' snapshot is not a product: it is not counted.
    assert sum(later[b] for b in band_names()) == 2


def test_post_quantum_tables_in_words() -> None:
    readiness = pd.DataFrame(
        {"readiness": ["ready", "not assessable", "not checked"], "products": [2, 1, 3]}
    )
    assert readiness_table(readiness)["Readiness"].tolist() == [
        "Ready",
        "Could not be assessed",
        "Not checked",
    ]
    milestones = pd.DataFrame(
        {
            "milestone": ["ncsc-2028", "ncsc-2028", "ncsc-2031"],
            "status": ["not assessed", "met", "not met"],
            "products": [1, 2, 3],
        }
    )
    table = milestone_table(milestones)
    assert table.columns.tolist() == ["Milestone", "Met", "Not met", "Not assessed"]
    assert table["Milestone"].iloc[0].endswith("(by 31 Dec 2028)")
    assert table.iloc[1][["Met", "Not met", "Not assessed"]].tolist() == [0, 3, 0]
