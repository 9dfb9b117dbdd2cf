"""Posture dashboards for security communities: the estate as of the latest snapshot run."""

from __future__ import annotations

import math

import altair as alt
import streamlit as st

from kernel.errors import AssureError
from posture.dashboard_pqc import assurance_workload, pqc_migration
from posture.dashboards import (
    PERMISSION,
    estate_trend,
    force_heatmap,
    league_page,
    movers,
    product_objectives,
    product_standings,
    snapshot_runs,
    weakest_objectives,
)
from posture.exports import to_csv, to_xlsx
from posture.monitoring.inbox import alert_table, open_alert_count
from posture.scoring.bands import band_names
from ui.alerts import alerts_panel
from ui.context import principal, show_flash, uk_time
from ui.plain import plain_error
from ui.runtime import sessions

PAGE_SIZE = 50


def dashboards_page() -> None:
    st.title("Posture dashboards")
    show_flash()
    me = principal()
    try:
        with sessions()() as session:
            runs = snapshot_runs(session, me)
            if runs.latest is None:
                st.info("No posture snapshots yet. Run `assure score --snapshot` to take one.")
                return
            standings = product_standings(session, me)
            heatmap = force_heatmap(session, me)
            products = product_objectives(session, me)
            trend = estate_trend(session, me)
            readiness, milestones = pqc_migration(session, me)
            workload = assurance_workload(session, me, standings)
            alerts = alert_table(session, me, PERMISSION)
            # The table is cut at the newest alerts; the tab counts every open one.
            open_alerts = open_alert_count(session, me, PERMISSION)
    except AssureError as exc:
        plain_error(exc)
        return
    since = f" (changes since {uk_time(runs.previous)})" if runs.previous else ""
    st.caption(f"Latest snapshot {uk_time(runs.latest)}{since}")
    for column, (label, value) in zip(st.columns(len(workload)), workload.items(), strict=True):
        column.metric(label.capitalize(), value)
    league, estate, changes, pqc, alerting = st.tabs(
        [
            "League table",
            "Forces and objectives",
            "Trends",
            "Post-quantum migration",
            f"Alerts ({open_alerts})",
        ]
    )
    with league:
        _league(standings)
    with estate:
        _estate(heatmap, weakest_objectives(heatmap, products))
    with changes:
        _trends(trend, *movers(standings))
    with pqc:
        _pqc(readiness, milestones)
    with alerting:
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


def _estate(heatmap, weakest) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Forces by objective")
    if heatmap.empty:
        st.info("No force snapshots in the latest run.")
    else:
        st.altair_chart(
            alt.Chart(heatmap)
            .mark_rect()
            .encode(
                x=alt.X("objective:N", title="Objective"),
                y=alt.Y("force:N", title=None, sort="ascending"),
                color=alt.Color(
                    "score:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 100])
                ),
                tooltip=["force", "objective", "score"],
            ),
            width="stretch",
        )
    st.subheader("Weakest objectives across the estate")
    st.dataframe(weakest, hide_index=True)


def _trends(trend, regressions, improvements) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Mean score by snapshot run")
    st.altair_chart(
        alt.Chart(trend)
        .mark_line(point=True)
        .encode(
            x=alt.X("taken_at:T", title="Snapshot"),
            y=alt.Y("mean_score:Q", title="Mean score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("kind:N", title="Subjects"),
            tooltip=["taken_at", "kind", "mean_score", "subjects"],
        ),
        width="stretch",
    )
    left, right = st.columns(2)
    left.subheader("Biggest regressions")
    left.dataframe(regressions, hide_index=True)
    right.subheader("Biggest improvements")
    right.dataframe(improvements, hide_index=True)


def _pqc(readiness, milestones) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Products by post-quantum readiness")
    st.caption("A product's readiness is the weakest of its latest post-quantum checks.")
    st.altair_chart(
        alt.Chart(readiness)
        .mark_bar()
        .encode(
            x=alt.X("products:Q", title="Products"),
            y=alt.Y("readiness:N", sort=None, title=None),
            tooltip=["readiness", "products"],
        ),
        width="stretch",
    )
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
