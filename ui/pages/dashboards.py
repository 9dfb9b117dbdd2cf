"""Posture dashboards for security communities: the estate as of the latest snapshot run."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import ScriptRunContext, add_script_run_ctx, get_script_run_ctx

from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.dashboard_pqc import assurance_workload, pqc_migration
from posture.dashboards import (
    PERMISSION,
    EstateView,
    SnapshotRuns,
    dashboard_scope,
    estate_view,
    league_page,
    newest_check_run_id,
    snapshot_frameworks,
    snapshot_runs,
)
from posture.exports import to_csv, to_xlsx
from posture.identity.permissions import Principal
from posture.monitoring.inbox import alert_table, open_alert_count
from posture.scoring.bands import band_names
from ui.alerts import alerts_panel
from ui.concentration_panel import concentration_panel
from ui.context import principal, show_flash, uk_time
from ui.findings_summary import findings_by_age
from ui.plain import plain_error
from ui.runtime import sessions

PAGE_SIZE = 50
# Entries are keyed by the data's version, so the ttl only bounds how long a renamed product or
# supplier keeps its old name here; a handful of scopes and versions are live at any time.
CACHE_TTL_SECONDS = 600
CACHE_ENTRIES = 16
Scope = tuple[int, ...] | None
T = TypeVar("T")

# Vega-Lite specs as data: building them through Altair validated every chart against the
# schema on every rerun, which was most of a warm run's time.
HEATMAP = {
    "mark": "rect",
    "encoding": {
        "x": {"field": "objective", "type": "nominal", "title": "Objective"},
        "y": {"field": "force", "type": "nominal", "title": None, "sort": "ascending"},
        "color": {
            "field": "score",
            "type": "quantitative",
            "scale": {"scheme": "redyellowgreen", "domain": [0, 100]},
        },
        "tooltip": [
            {"field": "force", "type": "nominal"},
            {"field": "objective", "type": "nominal"},
            {"field": "score", "type": "quantitative"},
        ],
    },
}
TREND = {
    "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "taken_at", "type": "temporal", "title": "Snapshot"},
        "y": {
            "field": "mean_score",
            "type": "quantitative",
            "title": "Mean score",
            "scale": {"domain": [0, 100]},
        },
        "color": {"field": "kind", "type": "nominal", "title": "Subjects"},
        "tooltip": [
            {"field": "taken_at", "type": "temporal"},
            {"field": "kind", "type": "nominal"},
            {"field": "mean_score", "type": "quantitative"},
            {"field": "subjects", "type": "quantitative"},
        ],
    },
}
READINESS = {
    "mark": "bar",
    "encoding": {
        "x": {"field": "products", "type": "quantitative", "title": "Products"},
        "y": {"field": "readiness", "type": "nominal", "sort": None, "title": None},
        "tooltip": [
            {"field": "readiness", "type": "nominal"},
            {"field": "products", "type": "quantitative"},
        ],
    },
}


# The key is (database, latest runs and newest snapshot id, the viewer's scope): a new snapshot
# run is a new key, and two viewers share an entry only when they may see exactly the same rows.
# The principal itself is not hashed (leading underscore); it only narrows the queries to `scope`.
@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _estate(database: str, runs: SnapshotRuns, scope: Scope, _viewer: Principal) -> EstateView:
    with sessions()() as session:
        return estate_view(session, _viewer, runs)


# Check runs arrive between snapshot runs; the newest check run id versions this view.
@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _pqc(
    database: str, newest_check_run: int | None, scope: Scope, _viewer: Principal
) -> tuple[pd.DataFrame, pd.DataFrame]:
    with sessions()() as session:
        return pqc_migration(session, _viewer)


def _in_context(context: ScriptRunContext | None, read: Callable[..., T], *args: Any) -> T:
    """`read(*args)` in a worker thread that the script's context is attached to, so the cache
    behaves as in the script thread."""
    add_script_run_ctx(threading.current_thread(), context)
    return read(*args)


def _chosen_framework(keys: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Scores are shown one framework at a time; the choice appears once a second one has runs."""
    if len(keys) < 2:
        return keys[0] if keys else None
    labels = {
        f"{framework_id} {version}": (framework_id, version) for framework_id, version in keys
    }
    return labels[st.selectbox("Framework", list(labels))]


NO_SNAPSHOT = (
    "No posture snapshot yet: scores, bands and trends appear after the first. The "
    "posture.daily_snapshot schedule takes one each night; a platform administrator can run it "
    "now from the Schedules page (or `assure score --snapshot`)."
)


def dashboards_page() -> None:
    st.title("Posture dashboards")
    show_flash()
    me = principal()
    database = load_settings().effective_database_url
    try:
        scope = dashboard_scope(me)
        with sessions()() as session:
            runs = snapshot_runs(session, me, _chosen_framework(snapshot_frameworks(session, me)))
            newest_check_run = newest_check_run_id(session)
            # Assessments and alerts change between runs and are cheap to count: read each time.
            alerts = alert_table(session, me, PERMISSION)
            # The table is cut at the newest alerts; the tab counts every open one.
            open_alerts = open_alert_count(session, me, PERMISSION)
            if runs.latest is None:
                # Findings and alerts owe nothing to snapshots: they are shown all the same.
                st.info(NO_SNAPSHOT)
                found, alerting = st.tabs(["Findings by age", f"Alerts ({open_alerts})"])
                with found:
                    _findings_tab(me)
                with alerting:
                    _alerts_tab(me, alerts, open_alerts)
                return
            # A cold view reads both in full and each is mostly the database's work (which
            # releases the GIL), so the post-quantum view is read beside the estate, not after.
            context = get_script_run_ctx()
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(
                    _in_context, context, _pqc, database, newest_check_run, scope, me
                )
                view = _estate(database, runs, scope, me)
                readiness, milestones = pending.result()
            workload = assurance_workload(session, me, view.standings)
    except AssureError as exc:
        plain_error(exc)
        return
    since = f" (changes since {uk_time(runs.previous)})" if runs.previous else ""
    st.caption(f"Latest snapshot {uk_time(runs.latest)}{since}")
    for column, (label, value) in zip(st.columns(len(workload)), workload.items(), strict=True):
        column.metric(label.capitalize(), value)
    league, estate, changes, pqc, concentrated, found, alerting = st.tabs(
        [
            "League table",
            "Forces and objectives",
            "Trends",
            "Post-quantum migration",
            "Concentration",
            "Findings by age",
            f"Alerts ({open_alerts})",
        ]
    )
    with league:
        _league(view.standings)
    with estate:
        _estate_tab(view.heatmap, view.weakest)
    with changes:
        _trends(view.trend, view.regressions, view.improvements)
    with pqc:
        _pqc_tab(readiness, milestones)
    with concentrated:
        concentration_panel(me)
    with found:
        _findings_tab(me)
    with alerting:
        _alerts_tab(me, alerts, open_alerts)


def _findings_tab(me: Principal) -> None:
    st.caption(
        "Findings checks opened that still count as open (disputed ones included), by how "
        "long ago a run first showed them, and those past the due date their severity sets."
    )
    findings_by_age(me)


def _alerts_tab(me: Principal, alerts: pd.DataFrame, open_alerts: int) -> None:
    st.caption("Open alerts from continuous monitoring and snapshot band changes.")
    if open_alerts > len(alerts):
        st.caption(f"Showing the newest {len(alerts)} of {open_alerts} open alerts.")
    alerts_panel(me, alerts, "estate", None)


def _league(standings) -> None:  # type: ignore[no-untyped-def]
    left, right = st.columns([1, 2])
    bands = left.multiselect("Bands", list(band_names()))
    search = right.text_input("Supplier or product contains")
    pages = max(1, math.ceil(len(standings) / PAGE_SIZE))
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1)
    rows, matched = league_page(standings, bands, search, int(page), PAGE_SIZE)
    st.caption(f"{matched} products match")
    st.dataframe(rows.drop(columns=["product_id"]), hide_index=True)
    csv_column, xlsx_column = st.columns(2)
    csv_column.download_button(
        "Download league table (CSV)",
        lambda: to_csv(standings),
        file_name="league-table.csv",
        mime="text/csv",
    )
    xlsx_column.download_button(
        "Download league table (XLSX)",
        # Built only when clicked: writing 10,000 rows to XLSX would slow every script run.
        lambda: to_xlsx(standings, "League table"),
        file_name="league-table.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _estate_tab(heatmap, weakest) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Forces by objective")
    if heatmap.empty:
        st.info("No force snapshots in the latest run.")
    else:
        st.vega_lite_chart(heatmap, HEATMAP, width="stretch")
    st.subheader("Weakest objectives across the estate")
    st.dataframe(weakest, hide_index=True)


def _trends(trend, regressions, improvements) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Mean score by snapshot run")
    st.vega_lite_chart(trend, TREND, width="stretch")
    left, right = st.columns(2)
    left.subheader("Biggest regressions")
    left.dataframe(regressions, hide_index=True)
    right.subheader("Biggest improvements")
    right.dataframe(improvements, hide_index=True)


def _pqc_tab(readiness, milestones) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Products by post-quantum readiness")
    st.caption("A product's readiness is the weakest of its latest post-quantum checks.")
    st.vega_lite_chart(readiness, READINESS, width="stretch")
    st.subheader("Products by NCSC milestone")
    if milestones.empty:
        st.info("No post-quantum check has assessed a milestone yet.")
        return
    st.dataframe(
        milestones.pivot_table(
            index="milestone", columns="status", values="products", fill_value=0
        ).reset_index(),
        hide_index=True,
    )
