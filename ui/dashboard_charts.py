"""The dashboards' charts: every mark labelled with its value in text, colours from ui.palette,
and each chart followed by its text alternative (the same numbers as a table, in an expander,
and a one-line summary given to the chart as its alt text).

Static charts are Vega-Lite specs as data (building them through Altair validated each against
the schema on every rerun); the trends over snapshots are drawn with Altair.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
import streamlit as st

from posture.dashboard_tables import BAND, OBJECTIVE, SNAPSHOT
from ui.context import uk_time
from ui.palette import SCORE_RANGE, TEXT, band_scale, series_scale


def text_alternative(table: pd.DataFrame, label: str) -> None:
    """The chart's numbers as a table, for people who cannot see the chart."""
    with st.expander(f"{label}: the numbers as a table"):
        st.dataframe(table, hide_index=True, width="stretch", placeholder="–")


def heatmap(cells: pd.DataFrame, summary: str) -> None:
    """Forces by objective: a cell per score, coloured low to high and printed."""
    spec = {
        "encoding": {
            "x": {
                "field": OBJECTIVE,
                "type": "nominal",
                "title": OBJECTIVE,
                "axis": {"orient": "top", "labelAngle": 0, "labelLimit": 160},
            },
            "y": {
                "field": "Force",
                "type": "nominal",
                "title": "Force",
                "sort": "ascending",
                "axis": {"labelLimit": 240},
            },
            "tooltip": [
                {"field": "Force", "type": "nominal"},
                {"field": OBJECTIVE, "type": "nominal"},
                {"field": "Score", "type": "quantitative"},
            ],
        },
        "layer": [
            {
                "mark": "rect",
                "encoding": {
                    "color": {
                        "field": "Score",
                        "type": "quantitative",
                        "title": "Score",
                        "scale": {"domain": [0, 50, 100], "range": list(SCORE_RANGE)},
                    }
                },
            },
            # Black on every colour of the range passes 4.5:1.
            {
                "mark": {"type": "text", "color": TEXT},
                "encoding": {"text": {"field": "Score", "type": "quantitative", "format": ".0f"}},
            },
        ],
    }
    st.vega_lite_chart(cells, spec, width="stretch", alt=summary)


def readiness(table: pd.DataFrame, summary: str) -> None:
    spec = {
        "encoding": {
            "x": {
                "field": "Products",
                "type": "quantitative",
                "title": "Products",
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "y": {
                "field": "Readiness",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelLimit": 240},
            },
            "tooltip": [
                {"field": "Readiness", "type": "nominal"},
                {"field": "Products", "type": "quantitative"},
            ],
        },
        "layer": [
            {"mark": {"type": "bar", "color": series_scale(["x"])["range"][0]}},
            {
                "mark": {"type": "text", "align": "left", "dx": 4, "color": TEXT},
                "encoding": {"text": {"field": "Products", "type": "quantitative"}},
            },
        ],
    }
    st.vega_lite_chart(table, spec, width="stretch", alt=summary)


def snapshot_axis(moments: pd.Series) -> alt.X:
    """A time axis ticked at the snapshots themselves, dated in words (not every weekday)."""
    ticks = [_utc(pd.Timestamp(m)) for m in dict.fromkeys(moments)]
    return alt.X(
        f"{moments.name}:T",
        title=SNAPSHOT,
        axis=alt.Axis(values=ticks, format="%d %b %Y", labelAngle=0, labelOverlap=True),
    )


def _utc(moment: pd.Timestamp) -> alt.DateTime:
    moment = moment.tz_convert("UTC") if moment.tzinfo else moment
    return alt.DateTime(
        year=moment.year,
        month=moment.month,
        date=moment.day,
        hours=moment.hour,
        minutes=moment.minute,
        seconds=moment.second,
        utc=True,
    )


def mean_score_trend(table: pd.DataFrame, summary: str) -> None:
    """Mean score at each snapshot run, a line per kind of subject, each point labelled."""
    kinds = list(dict.fromkeys(table["Subjects"]))
    base = alt.Chart(table).encode(
        x=snapshot_axis(table[SNAPSHOT]),
        y=alt.Y("Mean score:Q", title="Mean score", scale=alt.Scale(domain=[0, 100])),
        tooltip=[
            alt.Tooltip(f"{SNAPSHOT}:T", format="%d %b %Y %H:%M"),
            alt.Tooltip("Subjects:N"),
            alt.Tooltip("Mean score:Q", format=".1f"),
            alt.Tooltip("Subjects scored:Q"),
        ],
    )
    lines = base.mark_line(point=True).encode(
        color=alt.Color("Subjects:N", title="Subjects", scale=alt.Scale(**series_scale(kinds)))
    )
    # Labels in the text colour (a series colour such as orange is too light to read on white).
    labels = base.mark_text(dy=-10, color=TEXT).encode(
        text=alt.Text("Mean score:Q", format=".1f"), detail="Subjects:N"
    )
    st.altair_chart(alt.layer(lines, labels), width="stretch", alt=summary)


def band_trend(counts: pd.DataFrame, bands: Sequence[str], summary: str) -> None:
    """Products in each band at each snapshot run: stacked bars in band colours, each segment
    labelled with its count."""
    long = counts.melt(id_vars=[SNAPSHOT], var_name=BAND, value_name="Products")
    long = long[long["Products"] > 0]
    long = long.assign(Taken=[uk_time(t.to_pydatetime()) for t in long[SNAPSHOT]])
    order = {band: i for i, band in enumerate(bands)}
    long = long.assign(order=[order.get(b, len(order)) for b in long[BAND]])
    base = alt.Chart(long).encode(
        y=alt.Y("Taken:N", title=SNAPSHOT, sort=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X(
            "Products:Q",
            title="Products",
            stack="zero",
            axis=alt.Axis(tickMinStep=1, format="d"),
        ),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("Taken:N", title=SNAPSHOT), f"{BAND}:N", "Products:Q"],
    )
    bars = base.mark_bar().encode(
        color=alt.Color(f"{BAND}:N", title=BAND, scale=alt.Scale(**band_scale(list(bands))))
    )
    labels = base.mark_text(align="right", dx=-4, color=TEXT).encode(
        text=alt.Text("Products:Q"), detail=f"{BAND}:N"
    )
    st.altair_chart(alt.layer(bars, labels), width="stretch", alt=summary)
