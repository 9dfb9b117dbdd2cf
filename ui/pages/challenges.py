"""Innovation challenges: browse and enter here; manage (ui.challenge_manage) and judge
(ui.challenge_judging) in their own modules. Pages render and call services only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from supplier_portal.challenges import entries, results
from supplier_portal.challenges.forms import EntryForm
from supplier_portal.forms import parse_form
from supplier_portal.products import list_products
from ui.challenge_brief import show_brief, status_words
from ui.challenge_judging import judge_page as judge_page
from ui.challenge_manage import manage_page as manage_page
from ui.context import principal, run_service, show_flash, uk_time, widget_key
from ui.plain import escape_markdown, plain, plain_error
from ui.runtime import sessions

NEW_ENTRY = "new"


def browse() -> None:
    st.title("Innovation challenges")
    with sessions()() as session:
        challenges = entries.open_challenges(session, principal())
    if not challenges:
        st.info("No challenge is published yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Challenge": c.title,
                    "Phase": c.phase,
                    "Opens": uk_time(c.opens_at),
                    "Closes": uk_time(c.closes_at),
                    "Status": status_words(c.status),
                }
                for c in challenges
            ]
        ),
        hide_index=True,
    )
    for challenge in challenges:
        with st.expander(f"About {escape_markdown(challenge.title)}"):
            show_brief(challenge, with_questions=True)
    for challenge in (c for c in challenges if c.status == "results_published"):
        st.subheader(f"Results: {escape_markdown(challenge.title)}")
        with sessions()() as session:
            ranking = results.published_ranking(session, principal(), challenge.id)
        if not ranking:
            st.caption("No entry met the quality threshold.")
            continue
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Rank": row["rank"],
                        "Supplier": row["supplier"],
                        "Entry": row["title"],
                        "Mean score": row["mean"],
                        "Recommended for funding": "yes" if row["fund"] else "no",
                    }
                    for row in ranking
                ]
            ),
            hide_index=True,
        )


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
                title = item["criteria"].get(criterion, criterion)
                st.markdown(f"**{escape_markdown(title)}**")
                for comment in comments:
                    plain(comment)


def enter_page() -> None:
    st.title("My challenge entries")
    show_flash()
    me = principal()
    _my_feedback(me)
    with sessions()() as session:
        challenges = [c for c in entries.open_challenges(session, me) if c.status == "published"]
        products = list_products(session, me)
    if not challenges:
        st.info("No challenge is open for entries.")
        return
    chosen = st.selectbox(
        "Challenge", challenges, format_func=lambda c: c.title, key="entry-challenge"
    )
    show_brief(chosen, with_questions=True)
    with sessions()() as session:
        mine = entries.my_entries(session, me, chosen.id)
    submitted = [e for e in mine if e.status != "draft"]
    if submitted:
        st.caption(
            "Submitted: "
            + escape_markdown(
                "; ".join(f"{e.title} ({uk_time(e.submitted_at)})" for e in submitted)
            )
        )
    drafts = {e.id: e for e in mine if e.status == "draft"}
    draft_id = NEW_ENTRY
    if drafts:
        draft_id = st.selectbox(
            "Entry to work on",
            [NEW_ENTRY, *drafts],
            format_func=lambda d: "A new entry" if d == NEW_ENTRY else f"Draft: {drafts[d].title}",
            key=widget_key("entry-draft", chosen.id),
        )
    _entry_form(me, chosen, products, drafts.get(draft_id))  # type: ignore[call-overload]


def _entry_form(me, chosen, products, draft) -> None:  # type: ignore[no-untyped-def]
    def key(*parts: object) -> str:
        return widget_key("entry", chosen.id, draft.id if draft else NEW_ENTRY, *parts)

    answers_given = draft.eligibility_answers if draft else {}
    product_ids = [None, *(p.id for p in products)]
    names = {p.id: p.name for p in products}
    with st.form(f"entry-{chosen.id}"):
        title = st.text_input("Entry title", draft.title if draft else "", key=key("title"))
        proposal = st.text_area(
            "Proposal", draft.proposal if draft else "", height=200, key=key("proposal")
        )
        product = st.selectbox(
            "Linked product",
            product_ids,
            index=product_ids.index(draft.product_id)
            if draft and draft.product_id in product_ids
            else 0,
            format_func=lambda p: "none" if p is None else names[p],
            key=key("product"),
        )
        answers = {
            q["key"]: st.checkbox(
                escape_markdown(q["text"]),
                bool(answers_given.get(q["key"], False)),
                key=key("question", q["key"]),
            )
            for q in chosen.eligibility
        }
        save, submit = st.columns(2)
        saved = save.form_submit_button("Save draft")
        submitted = submit.form_submit_button("Save and submit")
    if not (saved or submitted):
        return
    try:
        form = parse_form(
            EntryForm,
            {
                "title": title,
                "proposal": proposal,
                "product_id": product,
                "eligibility_answers": answers,
            },
        )
    except AssureError as exc:
        plain_error(exc)
        return
    organisation = draft.organisation_id if draft else sorted(me.organisation_ids())[0]

    def save_and_maybe_submit(session) -> None:  # type: ignore[no-untyped-def]
        entry = entries.save_entry(
            session, me, chosen.id, organisation, form, entry_id=draft.id if draft else None
        )
        if submitted:
            entries.submit_entry(session, me, entry.id)

    run_service(
        save_and_maybe_submit,
        ("Entry submitted: " if submitted else "Draft saved: ") + f"{escape_markdown(form.title)}.",
        clear=("entry", "entry-draft"),
    )
