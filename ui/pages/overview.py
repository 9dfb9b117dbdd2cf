"""Landing page: what the platform covers and the size of the estate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.estate import estate_overview
from ui.runtime import sessions

KIND_LABELS = {
    "force": "Police forces",
    "national_body": "National bodies",
    "supplier": "Suppliers",
}


def render() -> None:
    st.title("PoliceTech Assure")
    st.caption(
        "One secure-by-design framework for the 43 forces and every supplier product: "
        "evidence from automated checks, posture over time, and procurement you can audit."
    )
    with sessions()() as session:
        overview = estate_overview(session)
    if overview.is_empty:
        st.info("The estate is empty. Load a demo estate with `assure demo seed`.")
        return
    columns = st.columns(len(KIND_LABELS))
    for column, (kind, label) in zip(columns, KIND_LABELS.items(), strict=True):
        column.metric(label, f"{overview.organisations_by_kind.get(kind, 0):,}")
    left, right = st.columns(2)
    with left:
        st.subheader("Products by category")
        by_category = {
            category.replace("_", " ").capitalize(): count
            for category, count in overview.products_by_category.items()
        }
        st.bar_chart(pd.Series(by_category, name="products"), horizontal=True)
    with right:
        st.subheader("Current assessments by status")
        st.dataframe(
            pd.DataFrame(
                sorted(overview.assessments_by_status.items()), columns=["status", "assessments"]
            ),
            hide_index=True,
        )
