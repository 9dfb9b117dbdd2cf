"""A challenge as entrants, judges and managers read it: the problem statement, when it opens
and closes, and the rubric entries are scored against (criteria, weights, scales, bands).
Everything a manager typed is shown as typed (plain, or escaped inside Markdown)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.context import uk_time
from ui.plain import escape_markdown, plain

STATUS_WORDS = {
    "draft": "draft",
    "published": "published",
    "results_published": "results published",
}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def bands_text(criterion: dict[str, Any]) -> str:
    return "; ".join(
        f"{b['min']}" + (f" to {b['max']}" if b["max"] != b["min"] else "") + f": {b['label']}"
        for b in sorted(criterion["bands"], key=lambda b: b["min"])
    )


def show_rubric(rubric: list[dict[str, Any]]) -> None:
    st.markdown("**How entries are scored**")
    for criterion in rubric:
        title = escape_markdown(criterion["title"])
        low, high = criterion["scale_min"], criterion["scale_max"]
        # No list syntax: the plain-text tests hold that user text brings no Markdown structure.
        st.markdown(f"**{title}**: {criterion['weight']}% of the score, scored {low} to {high}")
        if criterion.get("description"):
            plain(criterion["description"])
        st.caption("Bands: " + escape_markdown(bands_text(criterion)))


def show_brief(challenge, with_questions: bool = False) -> None:  # type: ignore[no-untyped-def]
    """The problem statement and rubric (and, for entrants, the eligibility questions)."""
    st.caption(
        f"{escape_markdown(challenge.phase.capitalize())} phase; opens "
        f"{uk_time(challenge.opens_at)}, closes {uk_time(challenge.closes_at)}; entries need a "
        f"mean of {challenge.quality_threshold:g} out of 100 to be ranked"
        + (
            f"; a linked product of posture band {challenge.min_posture_band} or better"
            if challenge.min_posture_band
            else ""
        )
    )
    st.markdown("**The problem**")
    plain(challenge.problem_statement)
    show_rubric(challenge.rubric)
    if with_questions and challenge.eligibility:
        st.markdown("**Eligibility**")
        for question in challenge.eligibility:
            must = " (must be yes)" if question.get("must_be_yes", True) else ""
            st.markdown(f"{escape_markdown(question['text'])}{must}")
