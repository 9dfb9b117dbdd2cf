"""Product posture (the my-posture page): a supplier's products (or a force itself), or for an
estate-wide reader any product, with score, band, confidence, trend, gaps to the target profile,
contradicted claims, open findings and why each outcome stands where it does, against the
framework picked. posture.my_posture decides reach and puts the explanation in words; this page
draws it.

A link may name a product (`?product=<id>`, as the dashboards' league table does) or a subject
(`?subject=product:<id>` or `org:<id>`); one the reader may not see is refused in words and the
page falls back to the reader's own subjects.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from posture.identity.permissions import Principal
from posture.my_posture import (
    MAX_CHOICES,
    MAX_SEARCH,
    Explanation,
    Framework,
    MyPosture,
    TrendPoint,
    parse_id,
    posture_frameworks,
    readable_subject,
    subject_choices,
)
from posture.my_posture import my_posture as read_posture
from posture.scoring.bands import band_names
from ui.context import principal, read_service, uk_time, widget_key
from ui.dashboard_charts import snapshot_axis
from ui.palette import TEXT, band_scale
from ui.plain import escape_markdown, plain

TITLE = "Product posture"
SUBJECT_PARAM = "subject"
PRODUCT_PARAM = "product"
REFUSED = (
    "The link names a product or organisation you may not see, or one that does not exist. "
    "Showing what you may see instead."
)
NOT_A_PRODUCT = "The link's product is not a product number. Showing what you may see instead."


def my_posture_page() -> None:
    st.title(TITLE)
    st.caption(
        "A product's (or an organisation's) score and band against the framework you pick, how "
        "they have moved, where it falls short of its target profile, and why each outcome "
        "counts as it does: the same explanation as assure score explain."
    )
    me = principal()
    pinned = _linked_subject(me)
    frameworks = read_service(lambda s: posture_frameworks(s, me))
    if frameworks is None:
        return
    framework = _framework_picker(frameworks)
    search = ""
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
        # A new link starts on its own subject rather than the one picked before it.
        key=widget_key("my-posture-subject", pinned or ""),
    )
    posture = read_service(lambda s: read_posture(s, me, key, framework=framework))
    if posture is None:
        return
    _draw(posture)


def _linked_subject(me: Principal) -> str | None:
    """The subject a link names, once the reader is known to be allowed it; otherwise a refusal
    in words (the same whether the product is another tenant's or does not exist)."""
    product = st.query_params.get(PRODUCT_PARAM)
    if product is not None:
        number = parse_id(product)
        if number is None:
            st.error(NOT_A_PRODUCT)
            return None
        key = f"product:{number}"
    else:
        key = st.query_params.get(SUBJECT_PARAM)
        if not key:
            return None
    subject = read_service(lambda s: readable_subject(s, me, key))
    if subject is None:
        st.error(REFUSED)
        return None
    return subject.key


def _framework_picker(frameworks: list[tuple[Framework, str]]) -> Framework:
    titles = dict(frameworks)
    return st.selectbox(
        "Scores against",
        list(titles),
        format_func=titles.__getitem__,
        key="my-posture-framework",
        help="The framework the score, band and explanation are shown against.",
    )


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
            "Label": [f"{p.score:.1f} ({p.band})" for p in points],
        }
    )
    # Points coloured by band (ui.palette) and labelled with their score: the band is also
    # in the tooltip and the table, so colour is never the only carrier.
    base = alt.Chart(frame).encode(
        x=snapshot_axis(frame["When"]),
        y=alt.Y("Score:Q", title="Score", scale=alt.Scale(domain=[0, 100])),
        tooltip=["Taken", "Score", "Band", "Confidence (%)"],
    )
    chart = alt.layer(
        base.mark_line(color=TEXT),
        base.mark_point(filled=True, size=90).encode(
            color=alt.Color("Band:N", scale=alt.Scale(**band_scale(band_names())))
        ),
        base.mark_text(dy=-12, color=TEXT).encode(text=alt.Text("Label:N")),
    ).properties(title="Score at each stored snapshot")
    first, last = points[0], points[-1]
    summary = (
        f"{len(points)} snapshot{'s' if len(points) != 1 else ''}: from {first.score:.1f} "
        f"(band {first.band}) on {uk_time(first.taken_at)} to {last.score:.1f} (band "
        f"{last.band}) on {uk_time(last.taken_at)}."
    )
    # The sentence and the table are the chart's text alternative: the same numbers in words.
    st.altair_chart(chart, width="stretch", alt=f"Score trend. {summary}")
    st.caption(f"{summary} The table below gives every point.")
    st.dataframe(frame.drop(columns=["When", "Label"]), hide_index=True, width="stretch")


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
    st.subheader(f"Gaps to the target profile ({len(explained.gaps)})")
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
                "Found by": [
                    f"{c.source}, {uk_time(c.checked_at)}" for c in explained.contradictions
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
