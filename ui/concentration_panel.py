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
from ui.palette import NOT_SCORED, TEXT, band_scale
from ui.runtime import sessions

CHARTED = 20
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


def _worded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=HEADINGS).fillna("")


def _chart(products: pd.DataFrame) -> dict:
    return {
        "encoding": {
            # Heaviest first, as the rows come (a layered chart ignored a sort by "-x").
            "y": {
                "field": "product",
                "type": "nominal",
                "sort": list(dict.fromkeys(products["product"])),
                "title": None,
                "axis": {"labelLimit": 240},
            },
            "x": {"field": "weight", "type": "quantitative", "title": "Weighted deployments"},
            # Tooltips headed as the tables are.
            "tooltip": [
                {"field": field, "type": kind, "title": HEADINGS[field]}
                for field, kind in (
                    ("product", "nominal"),
                    ("supplier", "nominal"),
                    ("forces", "quantitative"),
                    ("weight", "quantitative"),
                    ("band", "nominal"),
                    ("open_findings", "quantitative"),
                )
            ],
        },
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "color": {
                        "field": "band",
                        "type": "nominal",
                        "scale": band_scale(band_names(), with_unscored=True),
                        "title": "Band",
                    }
                },
            },
            # Each bar says its weight and band in text: colour is never the only carrier.
            {
                "mark": {"type": "text", "align": "left", "dx": 4, "color": TEXT},
                "encoding": {"text": {"field": "label", "type": "nominal"}},
            },
        ],
    }


@st.cache_data(max_entries=4, show_spinner=False)
def _estate(database: str, marker: tuple[Any, ...], bands: tuple[str, ...]) -> Concentration:
    """The view reads every deployment: built once per change of what it reads (`marker`), for
    every reader allowed it, rather than on every run of the dashboards page."""
    with sessions()() as session:
        return estate_concentration(session, bands)


def _band_words(band: str) -> str:
    return NOT_SCORED if band == NOT_SCORED else f"band {band}"


def _labels(products: pd.DataFrame) -> list[str]:
    return [
        f"{weight:g}, {_band_words(band)}"
        for weight, band in zip(products["weight"], products["band"], strict=True)
    ]


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
    charted = products.head(CHARTED)
    st.subheader(f"The {len(charted)} heaviest products")
    described = [
        f"{row.product} {row.weight:g} ({_band_words(row.band)})"
        for row in charted.itertuples(index=False)
    ]
    summary = "Weighted deployments: " + "; ".join(described) + "."
    st.vega_lite_chart(
        charted.assign(label=_labels(charted)),
        _chart(charted),
        width="stretch",
        alt=summary,
    )
    # The chart's text alternative: the table below holds every product's numbers.
    st.caption("The table below gives every product's numbers, the charted ones first.")
    st.dataframe(_worded(products), hide_index=True)
    st.subheader("Suppliers")
    st.dataframe(_worded(view.suppliers.drop(columns=["supplier_id"])), hide_index=True)
    st.subheader("Fourth parties (sub-suppliers)")
    if view.fourth_parties.empty:
        st.caption("No deployment names a sub-supplier.")
    else:
        st.dataframe(_worded(view.fourth_parties), hide_index=True)
