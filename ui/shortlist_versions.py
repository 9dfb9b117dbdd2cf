"""A requirement's saved shortlist versions on the Shortlists page: listed, one reopened exactly
as saved (with its exports and a side-by-side look at chosen products), and two compared."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from supplier_portal.procurement import shortlist_versions, shortlists
from supplier_portal.procurement.shortlist_versions import (
    ProductChange,
    VersionComparison,
    VersionSummary,
)
from supplier_portal.procurement.shortlisting_policy import Criterion
from ui.context import read_service, uk_time, widget_key
from ui.plain import escape_markdown
from ui.runtime import sessions

CHANGE_HEADINGS = {
    "entered": "Entered the ranking",
    "left": "Left the ranking",
    "moved up": "Moved up",
    "moved down": "Moved down",
}


def version_label(summary: VersionSummary) -> str:
    return f"Version {summary.version}, saved {uk_time(summary.saved_at)} by {summary.saved_by}"


def saved_versions_section(me, requirement, versions: list[VersionSummary]) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Saved versions")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Version": v.version,
                    "Saved": uk_time(v.saved_at),
                    "Saved by": v.saved_by,
                    "Weights": v.criteria_text,
                    "Ranked": v.ranked,
                    "Excluded": v.excluded,
                    "Ranked first": v.leader or "none",
                }
                for v in versions
            ]
        ),
        hide_index=True,
    )
    opened = st.selectbox(
        "Open a saved version",
        versions,
        format_func=version_label,
        key=widget_key("shortlist-open", requirement.id),
    )
    _reopened(me, requirement, opened)
    if len(versions) >= 2:
        _compare(me, requirement, versions)


def _file_stem(title: str, version: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:60] or "shortlist"
    return f"{slug}-version-{version}"


def _reopened(me, requirement, opened: VersionSummary) -> None:  # type: ignore[no-untyped-def]
    st.markdown(
        f"**Version {opened.version}** as saved {escape_markdown(uk_time(opened.saved_at))} by "
        f"{escape_markdown(opened.saved_by)}; weights: {escape_markdown(opened.criteria_text)}"
    )
    with sessions()() as session:
        frame = shortlist_versions.saved_ranking(session, me, opened.id)
        csv_text = shortlists.export_csv(session, me, opened.id)
        xlsx = shortlists.export_xlsx(session, me, opened.id)
        names = shortlists.ranked_products(session, me, opened.id)
    st.dataframe(frame, hide_index=True)
    stem = _file_stem(requirement.title, opened.version)
    left, right = st.columns(2)
    left.download_button(
        "Download CSV", csv_text, file_name=f"{stem}.csv", mime="text/csv", key=f"csv-{opened.id}"
    )
    right.download_button(
        "Download XLSX",
        xlsx,
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx-{opened.id}",
    )
    picked = st.multiselect(
        "Compare products side by side (2 to 5)",
        list(names),
        format_func=names.__getitem__,
        max_selections=5,
        key=widget_key("shortlist-side-by-side", opened.id),
    )
    if len(picked) >= 2:
        table = read_service(lambda s: shortlists.compare(s, me, opened.id, picked))
        if table is not None:
            headings = {c.value: c.heading for c in Criterion} | {"rank": "Rank", "total": "Total"}
            st.dataframe(table.rename(index=headings))


def _compare(me, requirement, versions: list[VersionSummary]) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Compare two versions")
    left, right = st.columns(2)
    before = left.selectbox(
        "Earlier version",
        versions,
        index=1,
        format_func=version_label,
        key=widget_key("shortlist-before", requirement.id),
    )
    after = right.selectbox(
        "Later version",
        versions,
        index=0,
        format_func=version_label,
        key=widget_key("shortlist-after", requirement.id),
    )
    comparison = read_service(
        lambda s: shortlist_versions.compare_versions(s, me, before.id, after.id)
    )
    if comparison is not None:
        show_comparison(comparison)


def show_comparison(comparison: VersionComparison) -> None:
    before, after = comparison.before.version, comparison.after.version
    st.markdown(f"**From version {before} to version {after}**")
    if comparison.weight_changes:
        st.markdown(
            "Weights changed: " + escape_markdown("; ".join(comparison.weight_changes)) + "."
        )
    else:
        st.markdown(f"Weights unchanged: {escape_markdown(comparison.after.criteria_text)}.")
    moved = [p for p in comparison.products if p.change in CHANGE_HEADINGS]
    if not moved:
        st.info("No product entered, left or changed place.")
    for change, heading in CHANGE_HEADINGS.items():
        rows = comparison.of(change)
        if rows:
            st.markdown(f"**{heading}**")
            st.dataframe(_change_frame(rows, before, after), hide_index=True)
    steady = comparison.of("unchanged")
    if steady:
        st.caption(
            "Same place in both: "
            + escape_markdown(", ".join(f"{p.product} ({p.supplier})" for p in steady))
        )


def _place(rank: int | None, total: float | None) -> str:
    if total is None:
        return "not listed"
    return f"{rank} ({total:g} points)" if rank is not None else f"excluded ({total:g} points)"


def _change_frame(rows: list[ProductChange], before: int, after: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Product": p.product,
                "Supplier": p.supplier,
                f"Version {before}": _place(p.rank_before, p.total_before),
                f"Version {after}": _place(p.rank_after, p.total_after),
                "Why": p.why,
            }
            for p in rows
        ]
    )
