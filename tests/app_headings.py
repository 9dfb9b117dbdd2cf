"""Heading order on a page drawn by AppTest: an h3 (st.subheader) only after an h2
(st.header), as WCAG's "info and relationships" asks of a page's outline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streamlit.testing.v1 import AppTest


def heading_levels(app: AppTest) -> list[int]:
    """The page's heading levels in the order drawn (1 title, 2 header, 3 subheader)."""
    levels = {"title": 1, "header": 2, "subheader": 3}
    return [levels[n.type] for n in _walk(app.main) if getattr(n, "type", "") in levels]


def heading_levels_in_order(app: AppTest) -> bool:
    """No heading more than one level below the one before it."""
    found = heading_levels(app)
    return bool(found) and all(b - a <= 1 for a, b in zip([1, *found], found, strict=False))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)
