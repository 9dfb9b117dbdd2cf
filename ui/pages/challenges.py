"""Innovation challenges: browse, manage, enter, judge. Pages render and call services only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.scoring.bands import minimum_band_choices
from posture.storage.engine import transaction
from supplier_portal.challenges import entries, judging, manage, results
from supplier_portal.challenges.forms import ChallengeForm, EntryForm, ScoreForm
from supplier_portal.challenges.moderation import moderation_policy
from supplier_portal.forms import parse_form
from supplier_portal.products import list_products
from ui.context import UK, principal, uk_time
from ui.plain import escape_markdown, plain, plain_error
from ui.runtime import sessions

EXAMPLE_RUBRIC = [
    {
        "key": "impact",
        "title": "Impact on policing",
        "weight": 60,
        "scale_min": 0,
        "scale_max": 10,
        "bands": [
            {"min": 0, "max": 3, "label": "Little"},
            {"min": 4, "max": 7, "label": "Useful"},
            {"min": 8, "max": 10, "label": "Transformative"},
        ],
    },
    {
        "key": "feasibility",
        "title": "Feasibility",
        "weight": 40,
        "scale_min": 0,
        "scale_max": 10,
        "bands": [
            {"min": 0, "max": 4, "label": "Doubtful"},
            {"min": 5, "max": 10, "label": "Credible"},
        ],
    },
]


def _run(action, success: str) -> bool:  # type: ignore[no-untyped-def]
    """Run a service call in one transaction; show its refusal instead of a traceback."""
    try:
        with transaction(sessions()) as session:
            action(session)
    except AssureError as exc:
        plain_error(exc)
        return False
    st.success(success)
    return True


def browse() -> None:
    st.title("Innovation challenges")
    with sessions()() as session:
        open_ones = entries.open_challenges(session, principal())
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "phase": c.phase,
                "opens": uk_time(c.opens_at),
                "closes": uk_time(c.closes_at),
                "status": c.status,
            }
            for c in open_ones
        ]
    if not rows:
        st.info("No challenge is published yet.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    finished = [r for r in rows if r["status"] == "results_published"]
    for row in finished:
        st.subheader(f"Results: {escape_markdown(row['title'])}")
        with sessions()() as session:
            ranking = results.published_ranking(session, principal(), row["id"])
        st.dataframe(
            pd.DataFrame(ranking)[["rank", "supplier", "title", "mean", "fund"]], hide_index=True
        )


def _uk_datetime(label: str, default_date, default_time) -> datetime:  # type: ignore[no-untyped-def]
    day = st.date_input(f"{label} date (UK)", value=default_date)
    clock = st.time_input(f"{label} time (UK)", value=default_time)
    return datetime.combine(day, clock, tzinfo=UK).astimezone(UTC)


def manage_page() -> None:
    st.title("Manage challenges")
    me = principal()
    with st.form("new-challenge"):
        st.subheader("New challenge")
        title = st.text_input("Title")
        statement = st.text_area("Problem statement")
        phase = st.selectbox("Phase", ["feasibility", "prototype", "pilot"])
        today = datetime.now(UK).date()
        opens_at = _uk_datetime("Opens", today, time(9, 0))
        closes_at = _uk_datetime("Closes", today, time(17, 0))
        threshold = st.number_input("Quality threshold (0-100)", 0.0, 100.0, 50.0)
        judges = st.number_input("Judges per entry", 1, 10, 2)
        band = st.selectbox("Minimum posture band", ["none", *minimum_band_choices()])
        rubric = st.text_area("Rubric (JSON)", json.dumps(EXAMPLE_RUBRIC, indent=1), height=200)
        created = st.form_submit_button("Create draft")
    if created:
        try:
            form = parse_form(
                ChallengeForm,
                {
                    "title": title,
                    "problem_statement": statement,
                    "phase": phase,
                    "opens_at": opens_at,
                    "closes_at": closes_at,
                    "quality_threshold": threshold,
                    "assessors_per_entry": judges,
                    "min_posture_band": None if band == "none" else band,
                    "rubric": json.loads(rubric),
                },
            )
        except (AssureError, json.JSONDecodeError) as exc:
            st.error(f"Not created: {escape_markdown(exc)}")
        else:
            organisation = sorted(me.organisation_ids())[0]
            _run(lambda s: manage.create_challenge(s, me, organisation, form), "Draft created.")
    _manage_existing(me)


def _manage_existing(me) -> None:  # type: ignore[no-untyped-def]
    with sessions()() as session:
        challenges = manage.managed_challenges(session, me)
    for challenge in challenges:
        with st.expander(f"{escape_markdown(challenge.title)} ({challenge.status})"):
            st.caption(
                f"Opens {uk_time(challenge.opens_at)}, closes {uk_time(challenge.closes_at)}"
            )
            columns = st.columns(3)
            if challenge.status == "draft" and columns[0].button(
                "Publish", key=f"pub{challenge.id}"
            ):
                _run(lambda s, c=challenge.id: manage.publish_challenge(s, me, c), "Published.")
            if challenge.status == "published" and columns[1].button(
                "Allocate judges", key=f"alloc{challenge.id}"
            ):
                _run(
                    lambda s, c=challenge.id: manage.allocate_judges(s, me, c), "Judges allocated."
                )
            if challenge.status == "published" and columns[2].button(
                "Publish results", key=f"res{challenge.id}"
            ):
                _run(
                    lambda s, c=challenge.id: manage.publish_results(s, me, c), "Results published."
                )
            if challenge.status == "results_published":
                with sessions()() as session:
                    try:
                        csv_text = results.results_csv(session, me, challenge.id)
                    except AssureError as exc:
                        st.caption(escape_markdown(exc))
                    else:
                        st.download_button(
                            "Download results (CSV)",
                            csv_text,
                            file_name=f"challenge-{challenge.id}-results.csv",
                            mime="text/csv",
                            key=f"csv{challenge.id}",
                        )
            if challenge.status != "draft":
                _moderation(me, challenge.id)


def _moderation(me, challenge_id: int) -> None:  # type: ignore[no-untyped-def]
    with sessions()() as session:
        standings = results.moderation_view(session, me, challenge_id, moderation_policy())
    if not standings:
        st.caption("No submitted entries yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "entry": s.entry_id,
                    "rank": s.rank,
                    "mean": s.mean,
                    "median": s.median,
                    "spread": s.spread,
                    "outlier scores": ", ".join(map(str, s.outliers)) or "-",
                    "in scope": s.in_scope,
                    "fund": s.fund,
                    "meets threshold": s.meets_quality,
                }
                for s in standings
            ]
        ),
        hide_index=True,
    )
    with st.form(f"exclude{challenge_id}"):
        allocation = st.number_input("Score (allocation id) to exclude", min_value=1, step=1)
        reason = st.text_input("Reason")
        if st.form_submit_button("Exclude score"):
            _run(lambda s: manage.exclude_score(s, me, int(allocation), reason), "Excluded.")


def _my_feedback(me) -> None:  # type: ignore[no-untyped-def]
    """Feedback on results already published: comments per criterion, no judge names."""
    with sessions()() as session:
        mine = results.my_published_entries(session, me)
        feedback = [results.feedback_for_entry(session, me, entry_id) for entry_id, _ in mine]
    for (_, title), item in zip(mine, feedback, strict=True):
        with st.expander(f"Feedback: {escape_markdown(title)}"):
            placing = f"ranked {item['rank']}" if item["rank"] else "below the quality threshold"
            st.write(f"Mean score {item['mean']:.1f}, {placing}.")
            for criterion, comments in item["comments"].items():
                st.markdown(f"**{escape_markdown(criterion)}**")
                for comment in comments:
                    plain(comment)


def enter_page() -> None:
    st.title("My challenge entries")
    me = principal()
    _my_feedback(me)
    with sessions()() as session:
        challenges = [c for c in entries.open_challenges(session, me) if c.status == "published"]
        products = list_products(session, me)
    if not challenges:
        st.info("No challenge is open for entries.")
        return
    chosen = st.selectbox("Challenge", challenges, format_func=lambda c: c.title)
    st.caption(f"Entries close {uk_time(chosen.closes_at)}")
    with st.form("entry"):
        title = st.text_input("Entry title")
        proposal = st.text_area("Proposal", height=200)
        product = st.selectbox(
            "Linked product",
            [None, *products],
            format_func=lambda p: "none" if p is None else p.name,
        )
        answers = {
            q["key"]: st.checkbox(escape_markdown(q["text"]), key=f"q-{q['key']}")
            for q in chosen.eligibility
        }
        save, submit = st.columns(2)
        saved = save.form_submit_button("Save draft")
        submitted = submit.form_submit_button("Save and submit")
    if saved or submitted:
        try:
            form = parse_form(
                EntryForm,
                {
                    "title": title,
                    "proposal": proposal,
                    "product_id": product.id if product else None,
                    "eligibility_answers": answers,
                },
            )
        except AssureError as exc:
            plain_error(exc)
            return
        organisation = sorted(me.organisation_ids())[0]

        def save_and_maybe_submit(session) -> None:  # type: ignore[no-untyped-def]
            entry = entries.save_entry(session, me, chosen.id, organisation, form)
            if submitted:
                entries.submit_entry(session, me, entry.id)

        _run(save_and_maybe_submit, "Entry submitted." if submitted else "Draft saved.")


def judge_page() -> None:
    st.title("Judging")
    me = principal()
    with sessions()() as session:
        allocations = judging.my_allocations(session, me)
        pending = [(a, judging.entry_for_judging(session, me, a.id)) for a in allocations]
    if not pending:
        st.info("No entries are allocated to you.")
        return
    allocation, entry = st.selectbox(
        "Entry",
        pending,
        format_func=lambda p: f"{p[1].title} ({'scored' if p[0].submitted_at else 'to score'})",
    )
    plain(entry.proposal)
    if allocation.submitted_at is not None:
        st.success("You have scored this entry.")
        with sessions()() as session:
            st.json(judging.peer_scores(session, me, allocation.id))
        return
    with sessions()() as session:
        rubric = judging.rubric_for(session, me, allocation.id)
    with st.form("score"):
        scores = {}
        for criterion in rubric:
            bands = "; ".join(f"{b['min']}-{b['max']} {b['label']}" for b in criterion["bands"])
            title, weight = (escape_markdown(criterion[k]) for k in ("title", "weight"))
            st.markdown(f"**{title}** ({weight}%) — {escape_markdown(bands)}")
            scores[criterion["key"]] = {
                "score": st.number_input(
                    "Score",
                    criterion["scale_min"],
                    criterion["scale_max"],
                    key=f"s-{criterion['key']}",
                ),
                "comment": st.text_area("Comment (required)", key=f"c-{criterion['key']}"),
            }
        in_scope = st.radio("In scope?", ["yes", "no"], horizontal=True) == "yes"
        fund = st.radio("Fund?", ["yes", "no"], horizontal=True) == "yes"
        send = st.form_submit_button("Submit score")
    _declare_conflict(me, entry)
    if send:
        try:
            form = parse_form(ScoreForm, {"scores": scores, "in_scope": in_scope, "fund": fund})
        except AssureError as exc:
            plain_error(exc)
            return
        _run(lambda s: judging.submit_score(s, me, allocation.id, form), "Score submitted.")


def _declare_conflict(me, entry) -> None:  # type: ignore[no-untyped-def]
    """A judge who has a conflict with the entrant steps aside instead of scoring."""
    with st.expander("Declare a conflict of interest"), st.form("conflict"):
        st.caption(
            "You come off this entrant's entries that you have not scored, and the challenge "
            "manager allocates another judge."
        )
        reason = st.text_area("What is the conflict?")
        declared = st.form_submit_button("Declare conflict")
    if declared:
        _run(
            lambda s: manage.declare_conflict(
                s, me, entry.challenge_id, me.user_id, entry.organisation_id, reason
            ),
            "Conflict declared: you no longer judge this entrant's entries.",
        )
