"""Manage challenges: create and edit drafts in fields, publish, allocate judges, moderate (the
scores, conflicts and standings by name; excluding a score names whose score of which entry),
and publish results. Each action says afterwards what it did."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.storage.models import Challenge
from supplier_portal.challenges import manage, oversight, results
from supplier_portal.challenges.forms import parse_challenge_form
from supplier_portal.challenges.moderation import moderation_policy
from ui.challenge_brief import show_brief, status_words
from ui.challenge_editor import Draft, challenge_fields
from ui.context import (
    FLASH_KEY,
    principal,
    read_service,
    run_service,
    show_flash,
    uk_time,
    widget_key,
)
from ui.plain import escape_markdown
from ui.runtime import sessions

NEW = "new"
OPEN_KEY = "manage-challenge-open"  # the challenge to show after a rerun (not a widget's key)
REPORT_KEY = "manage-challenge-report"  # what allocating did, for the run after it


def manage_page() -> None:
    st.title("Manage challenges")
    succeeded = FLASH_KEY in st.session_state
    show_flash()
    report = st.session_state.pop(REPORT_KEY, None)
    if succeeded and report:
        st.info(escape_markdown(report))
    me = principal()
    with sessions()() as session:
        challenges = manage.managed_challenges(session, me)
        submitted = oversight.submitted_counts(session, me)
    if challenges:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Challenge": c.title,
                        "Status": status_words(c.status),
                        "Opens": uk_time(c.opens_at),
                        "Closes": uk_time(c.closes_at),
                        "Entries submitted": submitted.get(c.id, 0),
                    }
                    for c in challenges
                ]
            ),
            hide_index=True,
        )
    by_id = {c.id: c for c in challenges}
    options: list[object] = [NEW, *by_id]
    wanted = st.session_state.get(OPEN_KEY, challenges[0].id if challenges else NEW)
    chosen = st.selectbox(
        "Challenge",
        options,
        index=options.index(wanted) if wanted in options else 0,
        format_func=lambda o: (
            "A new challenge" if o == NEW else f"{by_id[o].title} ({status_words(by_id[o].status)})"
        ),  # type: ignore[index]
        key=widget_key("manage-challenge"),
    )
    if chosen == NEW:
        st.subheader("New challenge")
        _create(me)
        return
    challenge = by_id[chosen]  # type: ignore[index]
    st.subheader(escape_markdown(challenge.title))
    st.caption(f"Status: {status_words(challenge.status)}")
    if challenge.status == "draft":
        _draft(me, challenge)
    else:
        show_brief(challenge)
        _running(me, challenge)


def _saved(challenge_id: int, message: str, action) -> None:  # type: ignore[no-untyped-def]
    """Run `action`, then show `challenge_id` (or the challenge the action creates)."""

    def run(session):  # type: ignore[no-untyped-def]
        result = action(session)
        # A new challenge is shown once created; every other action stays on its challenge.
        st.session_state[OPEN_KEY] = result.id if isinstance(result, Challenge) else challenge_id
        return result

    run_service(run, message, clear=("challenge-form", "manage-challenge", "exclude"))


def _create(me) -> None:  # type: ignore[no-untyped-def]
    data = challenge_fields(NEW, Draft(), "Create draft")
    if data is None:
        return
    try:
        form = parse_challenge_form(data)
    except AssureError as exc:
        st.error(f"Not created: {escape_markdown(exc)}")
        return
    organisation = sorted(me.organisation_ids())[0]
    _saved(
        0,
        f"Draft {escape_markdown(form.title)} created with {len(form.rubric)} criteria and "
        f"{len(form.eligibility)} eligibility question(s). Publish it when it reads right.",
        lambda s: manage.create_challenge(s, me, organisation, form),
    )


def _draft(me, challenge) -> None:  # type: ignore[no-untyped-def]
    if st.button("Publish", key=f"publish-{challenge.id}"):
        _saved(
            challenge.id,
            f"Published {escape_markdown(challenge.title)}: suppliers can enter from "
            f"{uk_time(challenge.opens_at)} until {uk_time(challenge.closes_at)}, and see the "
            "problem statement and rubric under Challenges.",
            lambda s: manage.publish_challenge(s, me, challenge.id),
        )
    st.markdown("**Edit the draft**")
    data = challenge_fields(challenge.id, Draft.of(challenge), "Save draft")
    if data is None:
        return
    try:
        form = parse_challenge_form(data)
    except AssureError as exc:
        st.error(f"Not saved: {escape_markdown(exc)}")
        return
    _saved(
        challenge.id,
        f"Draft {escape_markdown(form.title)} saved.",
        lambda s: manage.update_draft(s, me, challenge.id, form),
    )


def _running(me, challenge) -> None:  # type: ignore[no-untyped-def]
    if challenge.status == "published":
        left, right = st.columns(2)
        if left.button("Allocate judges", key=f"allocate-{challenge.id}"):
            _allocate(me, challenge)
        if right.button("Publish results", key=f"results-{challenge.id}"):
            _saved(
                challenge.id,
                "Results published.",
                lambda s: manage.publish_results(s, me, challenge.id),
            )
    else:
        st.info(oversight.results_text(challenge))
        csv_text = read_service(lambda s: results.results_csv(s, me, challenge.id))
        if csv_text is not None:
            st.download_button(
                "Download results (CSV)",
                csv_text,
                file_name=f"{_slug(challenge.title)}-results.csv",
                mime="text/csv",
                key=f"csv{challenge.id}",
            )
    _moderation(me, challenge)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:60] or "challenge"


def _allocate(me, challenge) -> None:  # type: ignore[no-untyped-def]
    def allocate(session):  # type: ignore[no-untyped-def]
        report = manage.allocate(session, me, challenge.id)
        # Shown after the rerun, and only beside the success message (see manage_page).
        st.session_state[REPORT_KEY] = report.text
        return report

    _saved(challenge.id, "Judges allocated.", allocate)


def _moderation(me, challenge) -> None:  # type: ignore[no-untyped-def]
    with sessions()() as session:
        allocations = oversight.allocations_view(session, me, challenge.id)
        conflicts = oversight.conflicts_view(session, me, challenge.id)
        standings = oversight.standings(session, me, challenge.id, moderation_policy())
    st.markdown("**Judges and scores**")
    if not allocations:
        st.caption("No judge is allocated yet (judges are allocated after entries close).")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Judge": a.judge,
                        "Entry": a.entry,
                        "Entrant": a.supplier,
                        "Scored": uk_time(a.submitted_at) if a.submitted_at else "not yet",
                        "Total (0-100)": a.total,
                        "Excluded because": a.excluded_reason or "",
                        "Conflict declared after scoring": "yes" if a.conflict_declared else "",
                    }
                    for a in allocations
                ]
            ),
            hide_index=True,
        )
    if conflicts:
        st.markdown("**Declared conflicts of interest**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Judge": c.judge,
                        "Entrant": c.entrant,
                        "Reason": c.reason,
                        "Declared": uk_time(c.declared_at),
                    }
                    for c in conflicts
                ]
            ),
            hide_index=True,
        )
    if standings:
        st.markdown("**Standings after moderation**")
        st.dataframe(pd.DataFrame(standings), hide_index=True)
    elif challenge.status != "draft":
        st.caption("No submitted entries yet.")
    excludable = [a for a in allocations if a.submitted_at and not a.excluded_reason]
    if challenge.status == "published" and excludable:
        _exclude(me, challenge, excludable)


def _exclude(me, challenge, excludable) -> None:  # type: ignore[no-untyped-def]
    with st.form(f"exclude-{challenge.id}"):
        st.markdown("**Exclude a score**")
        chosen = st.selectbox(
            "Score to exclude",
            excludable,
            format_func=lambda a: f"{a.label}: {a.total:g} of 100",
            key=widget_key("exclude", challenge.id, "which"),
        )
        reason = st.text_input("Reason", key=widget_key("exclude", challenge.id, "reason"))
        if not st.form_submit_button("Exclude score"):
            return
    _saved(
        challenge.id,
        f"Excluded {escape_markdown(chosen.judge)}'s score of {escape_markdown(chosen.entry)} "
        f"({escape_markdown(chosen.supplier)}).",
        lambda s: manage.exclude_score(s, me, chosen.id, reason),
    )
