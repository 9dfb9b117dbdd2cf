"""The alerts panel of the dashboards and the checks page: open alerts, and acknowledging one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.clock import utcnow
from posture.identity.permissions import Principal, allowed, holds
from posture.monitoring.inbox import acknowledge_alert
from ui.context import run_service, uk_time

# The alert table's columns (posture.monitoring.inbox.ALERT_COLUMNS) as people read them.
HEADINGS = {
    "id": "#",
    "raised_at": "Raised",
    "severity": "Severity",
    "code": "Code",
    "title": "Alert",
    "product": "Product",
    "supplier": "Supplier",
    "detail": "Detail",
}


def alerts_panel(
    me: Principal, alerts: pd.DataFrame, key: str, organisation_id: int | None
) -> None:
    """Show `alerts` (from `alert_table`) and, where the role may, a form to acknowledge one.

    `organisation_id` is the tenant the alerts belong to, or None for an estate-wide list."""
    if alerts.empty:
        st.caption("No open alerts.")
        return
    shown = alerts.assign(raised_at=alerts["raised_at"].map(uk_time))
    # An alert about an organisation rather than a product has no product or supplier: an
    # empty cell, not "None".
    shown = shown.drop(columns=["acknowledged_at"]).rename(columns=HEADINGS)
    st.dataframe(shown.fillna(""), hide_index=True)
    may_acknowledge = (
        allowed(me, "alert.acknowledge", organisation_id)
        if organisation_id is not None
        else holds(me, "alert.acknowledge")
    )
    if not may_acknowledge:
        return
    with st.form(f"acknowledge-{key}"):
        labels = {
            int(row.id): f"#{row.id} {row.code} {row.product or ''}".strip()
            for row in alerts.itertuples(index=False)
        }
        chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__)
        note = st.text_input("Note (what was done)")
        if st.form_submit_button("Acknowledge alert") and chosen is not None:
            run_service(
                lambda s: acknowledge_alert(s, me, int(chosen), utcnow(), note),
                f"Alert #{chosen} acknowledged.",
            )
