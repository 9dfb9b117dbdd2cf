"""My posture: a supplier's products (or a force itself) with score, band, confidence, trend, gaps
to the target profile, contradicted claims, open findings and why each outcome stands where it
does. posture.my_posture decides reach and puts the explanation in words; this page draws it."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from posture.my_posture import (
    MAX_CHOICES,
    MAX_SEARCH,
    Explanation,
    MyPosture,
    TrendPoint,
    subject_choices,
)
from posture.my_posture import my_posture as read_posture
from ui.context import principal, read_service, uk_time
from ui.plain import escape_markdown, plain

SUBJECT_PARAM = "subject"


def my_posture_page() -> None:
    st.title("My posture")
    st.caption(
        "Your score and band against the PoliceTech Secure by Design framework, how they have "
        "moved, where you fall short of your target profile, and why each outcome counts as it "
        "does. The same explanation as `assure score explain`."
    )
    me = principal()
    search = ""
    pinned = st.query_params.get(SUBJECT_PARAM)
    choices = read_service(lambda s: subject_choices(s, me, pinned=pinned))
    if choices is None:
        return
    if choices.estate_wide:
        search = st.text_input(
            "Find a force, supplier or product", max_chars=MAX_SEARCH, key="my-posture-search"
        )
        if search.strip():
            choices = read_service(lambda s: subject_choices(s, me, search, pinned))
            if choices is None:
                return
    if not choices.subjects:
        st.info(
            "Nothing matches that search." if search.strip() else "You have no subject to show."
        )
        return
    if choices.truncated:
        st.caption(f"Showing the first {MAX_CHOICES} matches; type more of the name to narrow.")
    subjects = {s.key: s for s in choices.subjects}
    key = st.selectbox(
        "Product or organisation",
        list(subjects),
        format_func=lambda k: subjects[k].label,
        key="my-posture-subject",
    )
    posture = read_service(lambda s: read_posture(s, me, key))
    if posture is None:
        return
    _draw(posture)


def _draw(posture: MyPosture) -> None:
    st.header(escape_markdown(posture.subject.name))
    explained = posture.explanation
    if explained is None:
        st.info(escape_markdown(posture.unscored or ""))
        _findings_metric(posture)
        _trend(posture.trend)
        return
    score, band, confidence, findings = st.columns(4)
    score.metric("Score (out of 100)", f"{explained.score:.1f}")
    band.metric("Band", explained.band)
    confidence.metric("Confidence", f"{explained.confidence:.0f}%")
    with findings:
        _findings_metric(posture)
    st.caption(
        f"As of {explained.as_of:%d %b %Y}: {explained.band_meaning}. Target profile "
        f"{escape_markdown(explained.profile)}; {escape_markdown(explained.framework)}, scoring "
        f"policy {escape_markdown(explained.scoring_policy)}. Confidence is how far the answers "
        "are backed by evidence and recent checks."
    )
    if explained.capped:
        st.warning(escape_markdown(explained.capped))
    _trend(posture.trend)
    _objectives(explained)
    _gaps(explained)
    _contradictions(explained)
    _outcomes(explained)


def _findings_metric(posture: MyPosture) -> None:
    if posture.open_findings is None:
        st.caption("Findings are not shown to your role.")
        return
    st.metric("Open findings", str(posture.open_findings))


def _trend(points: tuple[TrendPoint, ...]) -> None:
    st.subheader("Trend")
    if not points:
        st.info("No posture snapshot has been stored for this subject yet.")
        return
    frame = pd.DataFrame(
        {
            "Taken": [uk_time(p.taken_at) for p in points],
            "When": [p.taken_at for p in points],
            "Score": [p.score for p in points],
            "Band": [p.band for p in points],
            "Confidence (%)": [p.confidence for p in points],
        }
    )
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("When:T", title="Snapshot"),
            y=alt.Y("Score:Q", title="Score", scale=alt.Scale(domain=[0, 100])),
            tooltip=["Taken", "Score", "Band", "Confidence (%)"],
        )
        .properties(title="Score at each stored snapshot")
    )
    first, last = points[0], points[-1]
    summary = (
        f"{len(points)} snapshot{'s' if len(points) != 1 else ''}: from {first.score:.1f} "
        f"(band {first.band}) on {uk_time(first.taken_at)} to {last.score:.1f} (band "
        f"{last.band}) on {uk_time(last.taken_at)}."
    )
    # The sentence and the table are the chart's text alternative: the same numbers in words.
    st.altair_chart(chart, width="stretch", alt=f"Score trend. {summary}")
    st.caption(f"{summary} The table below gives every point.")
    st.dataframe(frame.drop(columns="When"), hide_index=True, width="stretch")


def _objectives(explained: Explanation) -> None:
    st.subheader("By objective")
    st.dataframe(
        pd.DataFrame(
            {
                "Objective": [f"{o.objective} {o.title}" for o in explained.objectives],
                "Score": [
                    "nothing applicable" if o.score is None else f"{o.score:.1f}"
                    for o in explained.objectives
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _gaps(explained: Explanation) -> None:
    st.subheader(f"Gaps to your target profile ({len(explained.gaps)})")
    if not explained.gaps:
        st.success("Every outcome meets its target.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Outcome": [g.outcome for g in explained.gaps],
                "Title": [g.title for g in explained.gaps],
                "Now": [g.status for g in explained.gaps],
                "Target": [g.target for g in explained.gaps],
                "Short by": [g.words for g in explained.gaps],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _contradictions(explained: Explanation) -> None:
    st.subheader(f"Claims contradicted by checks ({len(explained.contradictions)})")
    if not explained.contradictions:
        st.caption("No check contradicts a claim.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Outcome": [c.outcome for c in explained.contradictions],
                "Title": [c.title for c in explained.contradictions],
                "Claimed": [c.claimed for c in explained.contradictions],
                "Checks verify": [c.verified for c in explained.contradictions],
                "Finding": [
                    f"{c.finding_code}: {c.finding_title}" for c in explained.contradictions
                ],
                "Check run": [
                    f"{c.check_run_id}, {uk_time(c.checked_at)}" for c in explained.contradictions
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _outcomes(explained: Explanation) -> None:
    st.subheader("Why each outcome stands where it does")
    for heading, lines in (
        ("Not applicable", explained.not_applicable),
        ("Excused by a force", explained.exceptions),
        ("Supply chain", explained.supply_chain),
    ):
        if lines:
            st.markdown(f"**{heading}**")
            for line in lines:
                plain(line)
    st.dataframe(
        pd.DataFrame(
            {
                "Outcome": [o.outcome for o in explained.outcomes],
                "Title": [o.title for o in explained.outcomes],
                "Objective": [o.objective for o in explained.outcomes],
                "Counted as": [o.status for o in explained.outcomes],
                "Claimed": [o.claimed for o in explained.outcomes],
                "Target": [o.target for o in explained.outcomes],
                "Critical": ["yes" if o.critical else "no" for o in explained.outcomes],
                "Why (rule)": [o.why for o in explained.outcomes],
                "Evidence": [o.evidence for o in explained.outcomes],
                "Checks": [o.check for o in explained.outcomes],
                "Confidence (%)": [o.confidence for o in explained.outcomes],
            }
        ),
        hide_index=True,
        width="stretch",
    )
