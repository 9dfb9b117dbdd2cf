"""The dashboards' league table: filters, one page of products in words, a link from every row
to the product's posture page, and downloads of exactly the rows the filters keep."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from posture.dashboard_tables import PRODUCT, league_export, league_rows, league_table
from posture.exports import to_csv, to_xlsx
from posture.scoring.bands import band_names
from ui.plain import escape_markdown

PAGE_SIZE = 50
POSTURE_PATH = "my-posture"
POSTURE_PARAM = "product"
POSTURE = "Posture"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def posture_link(product_id: int) -> str:
    """The product's posture page, relative to the app (so it works behind any base path)."""
    return f"{POSTURE_PATH}?{POSTURE_PARAM}={int(product_id)}"


def league(standings: pd.DataFrame) -> None:
    st.header("Products by score")
    left, right = st.columns([1, 2])
    bands = left.multiselect("Bands", list(band_names()), key="league-bands")
    search = right.text_input("Supplier or product contains", key="league-search")
    matched = league_rows(standings, bands, search)
    pages = max(1, math.ceil(len(matched) / PAGE_SIZE))
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1)
    start = (int(page) - 1) * PAGE_SIZE
    rows = league_table(matched.iloc[start : start + PAGE_SIZE].reset_index(drop=True))
    st.caption(
        f"{len(matched)} products match. Select a row, or follow its link, to open the "
        "product's posture: its score explained outcome by outcome."
    )
    links = [posture_link(p) for p in rows["product_id"]]
    shown = rows.drop(columns=["product_id"]).assign(**{POSTURE: links})
    picked = st.dataframe(
        shown,
        hide_index=True,
        column_order=[POSTURE, *(c for c in shown.columns if c != POSTURE)],
        column_config={
            POSTURE: st.column_config.LinkColumn(
                POSTURE, display_text="Open posture", help="The product's posture page"
            ),
        },
        on_select="rerun",
        selection_mode="single-row",
        key="league-table",
        placeholder="–",
    )
    _open_selected(rows, picked)
    _downloads(matched)


def _open_selected(rows: pd.DataFrame, picked) -> None:  # type: ignore[no-untyped-def]
    chosen = list(getattr(getattr(picked, "selection", None), "rows", []) or [])
    if not chosen or chosen[0] >= len(rows):
        return
    row = rows.iloc[chosen[0]]
    st.page_link(
        _posture_page(),
        label=f"Open the posture of {escape_markdown(str(row[PRODUCT]))}",
        query_params={POSTURE_PARAM: str(int(row["product_id"]))},
    )


def _posture_page() -> st.Page:
    """The navigation's posture page (a link to a page made of a function must name its Page;
    pages match by address). Imported here: the navigation imports every page, this one too."""
    from ui.navigation import PAGES

    spec = next(s for s in PAGES if s.url_path == POSTURE_PATH)
    return st.Page(spec.render, title=spec.title, icon=spec.icon, url_path=spec.url_path)


@st.cache_data(max_entries=16, show_spinner=False)
def _csv_of(matched: pd.DataFrame) -> str:
    return to_csv(league_export(matched))


def _downloads(matched: pd.DataFrame) -> None:
    """Downloads of every row the filters keep (not only the page shown), as headed here. The
    XLSX is built only when clicked: writing 10,000 rows to it would slow every run."""
    st.caption(f"The downloads hold the {len(matched)} products the filters keep.")
    csv_column, xlsx_column = st.columns(2)
    csv_column.download_button(
        "Download league table (CSV)",
        # Made as the page draws (kept per filter set): a download made only on the click was
        # now and then not delivered when clicked just after a filter's rerun.
        _csv_of(matched),
        file_name="league-table.csv",
        mime="text/csv",
    )
    xlsx_column.download_button(
        "Download league table (XLSX)",
        lambda: to_xlsx(league_export(matched), "League table"),
        file_name="league-table.xlsx",
        mime=XLSX,
    )
