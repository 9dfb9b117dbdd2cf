"""Judging: the judge's entries by name, the challenge's problem statement and rubric beside the
proposal, blind scoring, other judges' scores once their own is in, and a conflict of interest
declared here (the judge comes off the entrant's unscored entries and may not score them)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from supplier_portal.challenges import judging, manage
from supplier_portal.challenges.forms import ScoreForm
from supplier_portal.challenges.judging import JudgingTask
from supplier_portal.forms import parse_form
from ui.challenge_brief import bands_text, show_brief
from ui.context import principal, read_service, run_service, show_flash, widget_key
from ui.plain import escape_markdown, plain, plain_error


def judge_page() -> None:
    st.title("Judging")
    show_flash()
    me = principal()
    tasks = read_service(lambda s: judging.my_tasks(s, me))
    if not tasks:
        if tasks is not None:
            st.info("No entries are allocated to you.")
        return
    waiting = sum(1 for t in tasks if t.allocation.submitted_at is None)
    st.caption(f"{waiting} of {len(tasks)} entries still to score.")
    task = st.selectbox(
        "Entry",
        tasks,
        format_func=lambda t: (
            f"{t.entry.title} ({'scored' if t.allocation.submitted_at else 'to score'})"
        ),
        key="judging-entry",
    )
    st.subheader(f"Challenge: {escape_markdown(task.challenge.title)}")
    show_brief(task.challenge)
    st.subheader(f"Entry: {escape_markdown(task.entry.title)}")
    st.caption(f"From {escape_markdown(task.entrant)}")
    plain(task.entry.proposal)
    if task.allocation.submitted_at is not None:
        st.success("You have scored this entry.")
        _peer_scores(me, task)
    else:
        _score_form(me, task)
    _declare_conflict(me, task)


def _peer_scores(me, task: JudgingTask) -> None:  # type: ignore[no-untyped-def]
    peers = read_service(lambda s: judging.peer_scores(s, me, task.allocation.id))
    if not peers:
        st.caption("No other judge has scored this entry yet.")
        return
    titles = {c["key"]: c["title"] for c in task.challenge.rubric}
    st.markdown("**Other judges' scores**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Judge": peer["judge"],
                    "Criterion": titles.get(key, key),
                    "Score": given["score"],
                    "Comment": given["comment"],
                    "In scope": "yes" if peer["in_scope"] else "no",
                    "Fund": "yes" if peer["fund"] else "no",
                }
                for peer in peers
                for key, given in (peer["scores"] or {}).items()
            ]
        ),
        hide_index=True,
    )


def _score_form(me, task: JudgingTask) -> None:  # type: ignore[no-untyped-def]
    allocation_id = task.allocation.id

    def key(*parts: object) -> str:
        return widget_key("score", allocation_id, *parts)

    with st.form(f"score-{allocation_id}"):
        st.markdown("**Your score**")
        scores = {}
        for criterion in task.challenge.rubric:
            title = escape_markdown(criterion["title"])
            st.markdown(f"**{title}** ({criterion['weight']}%)")
            st.caption("Bands: " + escape_markdown(bands_text(criterion)))
            scores[criterion["key"]] = {
                "score": st.number_input(
                    f"Score for {title} ({criterion['scale_min']} to {criterion['scale_max']})",
                    criterion["scale_min"],
                    criterion["scale_max"],
                    key=key(criterion["key"], "score"),
                ),
                "comment": st.text_area(
                    f"Comment on {title} (required)", key=key(criterion["key"], "comment")
                ),
            }
        in_scope = (
            st.radio("In scope?", ["yes", "no"], horizontal=True, key=key("in-scope")) == "yes"
        )
        fund = st.radio("Fund?", ["yes", "no"], horizontal=True, key=key("fund")) == "yes"
        if not st.form_submit_button("Submit score"):
            return
    try:
        form = parse_form(ScoreForm, {"scores": scores, "in_scope": in_scope, "fund": fund})
    except AssureError as exc:
        plain_error(exc)
        return
    run_service(
        lambda s: judging.submit_score(s, me, allocation_id, form),
        f"Score submitted for {escape_markdown(task.entry.title)}.",
        clear=("score",),
    )


def _declare_conflict(me, task: JudgingTask) -> None:  # type: ignore[no-untyped-def]
    """A judge who has a conflict with the entrant steps aside instead of scoring."""
    entrant = escape_markdown(task.entrant)
    with (
        st.expander(f"Declare a conflict of interest with {entrant}"),
        st.form(f"conflict-{task.allocation.id}"),
    ):
        st.caption(
            f"You come off {entrant}'s entries to this challenge that you have not scored, and "
            "cannot score them; the challenge manager allocates another judge. A score you have "
            "already given stays, marked for the manager to review."
        )
        reason = st.text_area(
            "What is the conflict?", key=widget_key("conflict", task.allocation.id)
        )
        declared = st.form_submit_button("Declare conflict")
    if declared:
        run_service(
            lambda s: manage.declare_conflict(
                s,
                me,
                task.challenge.id,
                me.user_id,
                task.entry.organisation_id,
                reason,
            ),
            f"Conflict declared with {entrant}: you no longer judge its entries to "
            f"{escape_markdown(task.challenge.title)}.",
            clear=("conflict",),
        )
