"""Posture dashboards for security communities: the estate as of the latest snapshot run."""

from __future__ import annotations

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
from posture.dashboard_tables import (
    Framework,
    band_trend_table,
    framework_title,
    heatmap_grid,
    heatmap_table,
    milestone_table,
    movers_table,
    objective_labels,
    readiness_table,
    trend_table,
    weakest_table,
)
from posture.dashboards import (
    PERMISSION,
    EstateView,
    SnapshotRuns,
    dashboard_scope,
    estate_view,
    newest_check_run_id,
    snapshot_frameworks,
    snapshot_runs,
)
from posture.identity.permissions import Principal
from posture.monitoring.inbox import alert_table, open_alert_count
from posture.scoring.bands import band_names
from ui import dashboard_charts as charts
from ui.alerts import alerts_panel
from ui.concentration_panel import concentration_panel
from ui.context import principal, show_flash, uk_time
from ui.findings_summary import findings_by_age
from ui.league_table import league
from ui.plain import plain_error
from ui.runtime import sessions

# Entries are keyed by the data's version, so the ttl only bounds how long a renamed product or
# supplier keeps its old name here; a handful of scopes and versions are live at any time.
CACHE_TTL_SECONDS = 600
CACHE_ENTRIES = 16
Scope = tuple[int, ...] | None
T = TypeVar("T")


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


def _chosen_framework(keys: list[Framework]) -> Framework | None:
    """Scores are shown one framework at a time; the choice appears once a second one has runs."""
    if len(keys) < 2:
        return keys[0] if keys else None
    labels = {framework_title(key): key for key in keys}
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
            framework = _chosen_framework(snapshot_frameworks(session, me))
            runs = snapshot_runs(session, me, framework)
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
    st.caption(
        f"Scores against {framework_title(framework)}. Latest snapshot "
        f"{uk_time(runs.latest)}{since}."
    )
    for column, (label, value) in zip(st.columns(len(workload)), workload.items(), strict=True):
        column.metric(label.capitalize(), value)
    labels = objective_labels(framework)
    tabs = st.tabs(
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
    with tabs[0]:
        league(view.standings)
    with tabs[1]:
        _estate_tab(view.heatmap, view.weakest, labels)
    with tabs[2]:
        _trends(view)
    with tabs[3]:
        _pqc_tab(readiness, milestones)
    with tabs[4]:
        st.header("Products many forces depend on")
        concentration_panel(me)
    with tabs[5]:
        _findings_tab(me)
    with tabs[6]:
        _alerts_tab(me, alerts, open_alerts)


def _findings_tab(me: Principal) -> None:
    st.header("Open findings by age")
    st.caption(
        "Findings checks opened that still count as open (disputed ones included), by how "
        "long ago a run first showed them, and those past the due date their severity sets."
    )
    findings_by_age(me)


def _alerts_tab(me: Principal, alerts: pd.DataFrame, open_alerts: int) -> None:
    st.header("Open alerts")
    st.caption("Open alerts from continuous monitoring and snapshot band changes.")
    if open_alerts > len(alerts):
        st.caption(f"Showing the newest {len(alerts)} of {open_alerts} open alerts.")
    alerts_panel(me, alerts, "estate", None)


def _estate_tab(heatmap: pd.DataFrame, weakest: pd.DataFrame, labels: dict[str, str]) -> None:
    st.header("Forces by objective")
    if heatmap.empty:
        st.info("No force snapshots in the latest run.")
    else:
        cells = heatmap_table(heatmap, labels)
        summary = (
            f"Heatmap of {cells['Force'].nunique()} forces' scores on "
            f"{cells['Objective'].nunique()} objectives, from {cells['Score'].min():.0f} to "
            f"{cells['Score'].max():.0f} out of 100; each cell shows its score."
        )
        charts.heatmap(cells, summary)
        st.caption(f"{summary} The same numbers are in the table below the chart.")
        charts.text_alternative(heatmap_grid(cells), "Forces by objective")
    st.header("Weakest objectives across the estate")
    st.caption("Mean objective score across products and forces in the latest snapshot.")
    st.dataframe(weakest_table(weakest, labels), hide_index=True, placeholder="–")


def _trends(view: EstateView) -> None:
    st.header("Mean score by snapshot run")
    trend = trend_table(view.trend)
    if trend.empty:
        st.info("No snapshot run yet.")
    else:
        summary = "; ".join(
            f"{kind} {mean:.1f} on {uk_time(taken.to_pydatetime())}"
            for taken, kind, mean in zip(
                trend["Snapshot"], trend["Subjects"], trend["Mean score"], strict=True
            )
        )
        charts.mean_score_trend(trend, f"Mean score by snapshot run: {summary}.")
        st.caption(f"Mean score: {summary}.")
        charts.text_alternative(trend, "Mean score by snapshot run")
    st.header("Products in each band by snapshot run")
    bands = band_trend_table(view.bands, band_names())
    if not bands.empty:
        summary = "; ".join(
            f"{uk_time(row[0].to_pydatetime())}: "
            + ", ".join(f"{n} in band {b}" for b, n in zip(bands.columns[1:], row[1:], strict=True))
            for row in bands.itertuples(index=False)
        )
        charts.band_trend(bands, band_names(), f"Products per band: {summary}.")
        st.caption(f"Products per band: {summary}.")
        charts.text_alternative(bands, "Products in each band")
    st.header("Biggest movers since the snapshot before")
    left, right = st.columns(2)
    left.subheader("Biggest regressions")
    left.dataframe(movers_table(view.regressions), hide_index=True, placeholder="–")
    right.subheader("Biggest improvements")
    right.dataframe(movers_table(view.improvements), hide_index=True, placeholder="–")


def _pqc_tab(readiness: pd.DataFrame, milestones: pd.DataFrame) -> None:
    st.header("Products by post-quantum readiness")
    st.caption("A product's readiness is the weakest of its latest post-quantum checks.")
    table = readiness_table(readiness)
    summary = ", ".join(f"{row.Readiness} {row.Products}" for row in table.itertuples())
    charts.readiness(table, f"Products by post-quantum readiness: {summary}.")
    st.caption(f"Products by readiness: {summary}.")
    st.header("Products by NCSC milestone")
    if milestones.empty:
        st.info("No post-quantum check has assessed a milestone yet.")
        return
    st.dataframe(milestone_table(milestones), hide_index=True, placeholder="–")
