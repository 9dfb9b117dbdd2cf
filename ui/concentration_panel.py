"""The national view of concentration on the dashboards page: the products, suppliers and fourth
parties many forces depend on, weighted by criticality and data, with a chart of the heaviest
products coloured by their band (posture.portfolio.concentration)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from kernel.settings import load_settings
from posture.identity.permissions import Principal
from posture.portfolio.concentration import (
    Concentration,
    concentration_marker,
    estate_concentration,
    require_estate_view,
)
from posture.portfolio.policy import portfolio_policy
from posture.scoring.bands import band_names
from ui.context import read_service
from ui.runtime import sessions

CHARTED = 20
NOT_SCORED = "not scored"
# Best band first, green to red; not scored is grey.
BAND_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
UNSCORED_COLOUR = "#bdbdbd"
# The tables' columns in words.
HEADINGS = {
    "product_id": "Product id",
    "product": "Product",
    "supplier": "Supplier",
    "forces": "Forces",
    "weight": "Weighted deployments",
    "band": "Band",
    "open_findings": "Open findings",
    "products": "Products",
    "worst_band": "Worst band",
    "fourth_party": "Fourth party",
}


def _band_scale(bands: list[str]) -> dict:
    named = list(band_names())
    if len(named) != len(BAND_COLOURS):
        return {"domain": bands}  # a policy with other bands: the default palette
    return {"domain": bands, "range": [*BAND_COLOURS, UNSCORED_COLOUR]}


def _worded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=HEADINGS).fillna("")


def _chart(products: pd.DataFrame) -> dict:
    bands = [*band_names(), NOT_SCORED]
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "product", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "weight", "type": "quantitative", "title": "Weighted deployments"},
            "color": {
                "field": "band",
                "type": "nominal",
                "scale": _band_scale(bands),
                "title": "Band",
            },
            "tooltip": [
                {"field": "product", "type": "nominal"},
                {"field": "supplier", "type": "nominal"},
                {"field": "forces", "type": "quantitative"},
                {"field": "weight", "type": "quantitative"},
                {"field": "band", "type": "nominal"},
                {"field": "open_findings", "type": "quantitative"},
            ],
        },
    }


@st.cache_data(max_entries=4, show_spinner=False)
def _estate(database: str, marker: tuple[Any, ...], bands: tuple[str, ...]) -> Concentration:
    """The view reads every deployment: built once per change of what it reads (`marker`), for
    every reader allowed it, rather than on every run of the dashboards page."""
    with sessions()() as session:
        return estate_concentration(session, bands)


def concentration_panel(me: Principal) -> None:
    marker = read_service(lambda s: (require_estate_view(me), concentration_marker(s))[1])
    if marker is None:
        return
    view = _estate(load_settings().effective_database_url, marker, band_names())
    tiers = ", ".join(f"{t.label} {t.weight}" for t in portfolio_policy().criticality)
    st.caption(
        "Each deployment weighs its criticality to the force times the weight of the data the "
        f"force puts in it; undeclared weighs as the most demanding. Criticality: {tiers}."
    )
    if view.products.empty:
        st.info("No force has recorded a deployment yet.")
        return
    products = view.products.assign(band=view.products["band"].fillna(NOT_SCORED))
    st.subheader(f"The {min(CHARTED, len(products))} heaviest products")
    st.vega_lite_chart(products.head(CHARTED), _chart(products), width="stretch")
    st.dataframe(_worded(products), hide_index=True)
    st.subheader("Suppliers")
    st.dataframe(_worded(view.suppliers.drop(columns=["supplier_id"])), hide_index=True)
    st.subheader("Fourth parties (sub-suppliers)")
    if view.fourth_parties.empty:
        st.caption("No deployment names a sub-supplier.")
    else:
        st.dataframe(_worded(view.fourth_parties), hide_index=True)
