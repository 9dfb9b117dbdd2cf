"""The colours every chart uses, defined once: the Okabe-Ito palette, which stays distinct for
the common kinds of colour blindness. Colour never carries a value alone: every chart also
labels its marks with the value in text and has a table of the same numbers beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "bluish green": "#009E73",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "orange": "#E69F00",
    "vermillion": "#D55E00",
    "blue": "#0072B2",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}
# Bands best first: green through yellow to vermillion, as people read good to bad; a policy
# with more bands than these takes the rest of the palette in turn.
BAND_RAMP = ("#009E73", "#56B4E9", "#F0E442", "#E69F00", "#D55E00", "#CC79A7", "#0072B2")
# Not scored: a mid grey, distinct from every band colour in lightness.
UNSCORED = "#8C8C8C"
NOT_SCORED = "not scored"
# Text drawn on the page (labels beside marks): the theme's text colour.
TEXT = "#0B0C0C"
# Categories that are not bands (kinds of subject, series): the palette from blue.
SERIES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# A quantitative score (heatmap cells), low to high: vermillion through yellow to bluish green
# keeps the bands' reading; each cell also prints its score.
SCORE_RANGE = ("#D55E00", "#F0E442", "#009E73")


def band_colours(bands: Sequence[str]) -> dict[str, str]:
    """Each band (best first) to its colour."""
    return {band: BAND_RAMP[i % len(BAND_RAMP)] for i, band in enumerate(bands)}


def band_scale(bands: Sequence[str], *, with_unscored: bool = False) -> dict[str, Any]:
    """A Vega-Lite colour scale for band names, best first, optionally with "not scored"."""
    colours = band_colours(bands)
    domain = [*bands, *([NOT_SCORED] if with_unscored else [])]
    return {
        "domain": domain,
        "range": [colours.get(band, UNSCORED) for band in domain],
    }


def series_scale(names: Sequence[str]) -> dict[str, Any]:
    return {"domain": list(names), "range": [SERIES[i % len(SERIES)] for i in range(len(names))]}
