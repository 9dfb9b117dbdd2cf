"""The dashboards page (AppTest): who gets it, what it shows, and the empty estate."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from kernel.clock import utcnow
from posture.identity.permissions import Principal
from posture.scoring.bands import band_names
from posture.storage.engine import transaction
from posture.storage.models import Alert
from posture.storage.models.enums import Role
from tests.app_headings import heading_levels_in_order
from tests.dashboards.conftest import Db
from tests.findings.scenario import OLD_TLS, run_check
from ui.palette import band_colours

# How many open alerts alert_table lists by default.
LISTED_ALERTS = 200


def _render() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def _page(principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def _frame(app: AppTest, *columns: str):  # type: ignore[no-untyped-def]
    (found,) = [f.value for f in app.dataframe if set(columns) <= set(f.value.columns)]
    return found


def test_the_page_shows_the_league_heatmap_and_movers(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    league = _frame(app, "Trend")
    assert league["Trend"].tolist() == ["▼ down", "▶ level"]
    assert league["Band at the snapshot before"].tolist() == ["B", "C"]
    weakest = _frame(app, "Mean score", "Scored below 50")
    assert weakest["Objective"].tolist() == ["B Build secure by design", "A Govern security risk"]
    regressions, improvements = (f.value for f in app.dataframe if "Band now" in f.value.columns)
    assert regressions["Change in score"].tolist() == [-14.5]
    assert improvements.empty
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Products with contradicted claims"] == "1"
    assert set(metrics) == {
        "Awaiting review",
        "Under review",
        "Products with contradicted claims",
        "Open findings",
        "Past their due date",
    }
    assert any("No post-quantum check has assessed" in i.value for i in app.info)
    assert [b.label for b in app.get("download_button")] == [
        "Download league table (CSV)",
        "Download league table (XLSX)",
    ]
    app.multiselect[0].set_value(["A"])
    app = app.run()
    assert _frame(app, "Trend").empty
    assert any(c.value.startswith("0 products match") for c in app.caption)
    assert "The downloads hold the 0 products the filters keep." in [c.value for c in app.caption]


def test_every_table_is_in_words(snapshots: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """No data name (snake_case), raw enum value or None reaches a heading or a cell."""
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    raw = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
    for frame in (f.value for f in app.dataframe):
        headings = [str(c) for c in frame.columns] + [str(frame.index.name or "")]
        assert not [h for h in headings if raw.match(h) or h == "None"], headings
        cells = [str(v) for v in frame.astype(object).to_numpy().ravel()]
        assert not [c for c in cells if raw.match(c) or c in {"None", "nan", "NaT"}], cells
    for kind in ("product", "organisation"):
        everything = " ".join(c.value for c in app.caption)
        assert f" {kind} " not in f" {everything} "


def test_every_league_row_links_to_the_products_posture(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    league = _frame(app, "Trend")
    ids = [world.orgs["s1"].product_id, world.orgs["s2"].product_id]
    assert league["Posture"].tolist() == [f"my-posture?product={i}" for i in ids]
    (table,) = [f for f in app.dataframe if "Trend" in f.value.columns]
    config = json.loads(table.proto.columns)
    assert config["Posture"]["type_config"]["type"] == "link"


def test_charts_use_the_colour_blind_safe_palette_and_carry_their_numbers_in_text(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    charts = list(app.get("vega_lite_chart")) + list(app.get("arrow_vega_lite_chart"))
    assert charts
    for chart in charts:
        spec = chart.proto.spec
        # Every chart labels its marks with text and tells its numbers to a screen reader.
        assert '"text"' in spec, spec[:300]
        assert chart.proto.alt
        assert "redyellowgreen" not in spec
    specs = " ".join(c.proto.spec for c in charts)
    # The band colours are the palette's, defined once.
    assert all(colour in specs for colour in band_colours(band_names()).values())
    # Each chart is followed by its numbers: the band trend's table has a run per row.
    bands = _frame(app, "Snapshot", *band_names())
    assert bands[list(band_names())].sum(axis=1).tolist() == [2, 2]
    assert bands.loc[1, "C"] == 2
    grid = _frame(app, "Force", "A Govern security risk")
    assert grid.loc[0, "B Build secure by design"] == 30.0


def test_headings_run_in_order(snapshots: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """No third-level heading before a second-level one (st.subheader comes after st.header)."""
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert heading_levels_in_order(app)


def test_a_supplier_reaching_the_page_is_refused(snapshots: Db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world, _, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    app = _page(world.principal(Role.SUPPLIER_ADMIN))
    assert app.dataframe.len == 0
    assert not app.exception
    assert any("does not allow" in e.value for e in app.error)


def test_an_estate_without_snapshots_says_how_to_take_one_and_still_shows_findings(
    world_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, settings = world_db
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    run_check(sessions, world, [OLD_TLS], utcnow() - timedelta(days=100))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    assert any("Schedules page" in i.value for i in app.info)
    assert [tab.label for tab in app.tabs] == ["Findings by age", "Alerts (0)"]
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Open findings"], metrics["Past their due date"]) == ("1", "1")


def test_the_alerts_tab_counts_every_open_alert_beyond_those_listed(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    organisation_id, product_id = world.orgs["s1"].organisation_id, world.orgs["s1"].product_id
    with transaction(sessions) as session:
        session.add_all(
            Alert(
                organisation_id=organisation_id,
                product_id=product_id,
                code="MON-PQ-LOST",
                severity="high",
                title="Post-quantum key exchange lost",
                advice="Restore the hybrid group.",
            )
            for _ in range(LISTED_ALERTS + 1)
        )
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    assert any(tab.label == f"Alerts ({LISTED_ALERTS + 1})" for tab in app.tabs)
    (listed,) = (f.value for f in app.dataframe if "Raised" in f.value.columns)
    assert len(listed) == LISTED_ALERTS
    shown = f"Showing the newest {LISTED_ALERTS} of {LISTED_ALERTS + 1} open alerts."
    assert shown in [c.value for c in app.caption]


def test_the_findings_tab_shows_open_findings_by_age_and_those_past_due(
    snapshots: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sessions, settings = snapshots
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    # First seen 100 days ago: a high finding's 30-day SLA has long passed.
    run_check(sessions, world, [OLD_TLS], utcnow() - timedelta(days=100))
    app = _page(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    assert any(tab.label == "Findings by age" for tab in app.tabs)
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Open findings"], metrics["Past their due date"]) == ("1", "1")
    by_age = [f.value for f in app.dataframe if f.value.index.name == "Age"]
    opened, past_due = by_age
    assert opened.loc["91-180 days"].sum() == 1
    assert past_due.loc["91-180 days"].sum() == 1
    assert opened.drop(index="91-180 days").fillna(0).to_numpy().sum() == 0
