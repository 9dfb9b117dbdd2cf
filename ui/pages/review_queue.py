"""The assessors' review queue: one page of waiting answers at a time, filters, and the decision
form. Paging, ordering, scope and the one-decision rule are the services'; this page draws."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.platform_keys import platform_keys
from supplier_portal.evidence import evidence_content, list_evidence
from supplier_portal.review_filters import waiting_products, waiting_suppliers
from supplier_portal.review_queue import QueueQuery, ReviewPage
from supplier_portal.reviews import OUTCOME_OF, review_answer, review_queue
from ui.context import principal, run_service, show_flash, widget_key
from ui.plain import escape_markdown
from ui.runtime import sessions

PAGE_SIZES = (10, 25, 50, 100)
DECISIONS = ("accept", "query", "reject")
PAGE_KEY = "review_queue_page"
FILTERS_KEY = "review_queue_filters"
ANY = 0


def _turn(step: int) -> None:
    st.session_state[PAGE_KEY] = max(1, st.session_state.get(PAGE_KEY, 1) + step)


def _filters(me) -> QueueQuery:  # type: ignore[no-untyped-def]
    size_column, supplier_column, product_column, outcome_column = st.columns([1, 3, 3, 2])
    size = size_column.selectbox("Answers per page", PAGE_SIZES, index=1)
    name = supplier_column.text_input("Find a supplier by name", max_chars=100)
    with sessions()() as session:
        suppliers = dict(waiting_suppliers(session, me, name))
    organisation = supplier_column.selectbox(
        "Supplier",
        [ANY, *suppliers],
        format_func=lambda o: "Any supplier" if o == ANY else suppliers[o],
    )
    products: dict[int, str] = {}
    if organisation != ANY:
        with sessions()() as session:
            products = dict(waiting_products(session, me, organisation))
    # Shown once a supplier is chosen, not drawn disabled: greyed-out text fails contrast.
    product = (
        product_column.selectbox(
            "Product",
            [ANY, *products],
            format_func=lambda p: "Any product" if p == ANY else products[p],
        )
        if organisation != ANY
        else ANY
    )
    outcomes = [o.id for o in default_framework().framework.outcomes()]
    outcome = outcome_column.selectbox("Outcome", ["", *outcomes], format_func=lambda o: o or "Any")
    contradicted_first = st.toggle("Contradicted claims first", value=True)
    chosen = (size, organisation, product, outcome, contradicted_first)
    if st.session_state.get(FILTERS_KEY) != chosen:
        # Another filter or page size starts again at the first page.
        st.session_state[FILTERS_KEY] = chosen
        st.session_state[PAGE_KEY] = 1
    return QueueQuery.page(
        max(1, st.session_state.get(PAGE_KEY, 1)),
        size,
        organisation_id=organisation or None,
        product_id=product or None,
        outcome_id=outcome or None,
        contradicted_first=contradicted_first,
    )


def _pager(found: ReviewPage) -> None:
    back, label, forward = st.columns([1, 4, 1])
    # Only the moves there are, rather than greyed-out buttons (their text fails contrast).
    if found.page > 1:
        back.button("Previous page", on_click=_turn, args=(-1,))
    contradicted = (
        f" · {found.contradicted:,} contradicted by a check" if found.contradicted else ""
    )
    label.markdown(
        f"Page {found.page:,} of {found.pages:,} · {found.total:,} answers waiting{contradicted}"
    )
    if found.page < found.pages:
        forward.button("Next page", on_click=_turn, args=(1,))


def review_page() -> None:
    st.title("Review queue")
    show_flash()
    me = principal()
    query = _filters(me)
    with sessions()() as session:
        found = review_queue(session, me, date.today(), query)
    if found.total and not found.items:
        # The page asked for is past the end (answers were decided meanwhile): show the last.
        st.session_state[PAGE_KEY] = found.pages
        st.rerun()
    if not found.items:
        st.info("Nothing is waiting for review.")
        return
    _pager(found)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Answer": i.answer_id,
                    "Subject": i.subject,
                    "Outcome": i.outcome_id,
                    "Contradicted by a check": "yes" if i.contradicted else "no",
                    "Claimed": i.claimed.replace("_", " "),
                    "Submitted": i.submitted_at[:10],
                    # What contradicts the claim (the check, its finding, the level it verified)
                    # is on the product's posture page.
                    "Posture": f"my-posture?product={i.product_id}" if i.product_id else None,
                }
                for i in found.items
            ]
        ),
        hide_index=True,
        column_config={
            "Posture": st.column_config.LinkColumn("Posture", display_text="Open posture")
        },
    )
    labels = {
        i.answer_id: f"{i.subject}: {i.outcome_id}"
        + (" · contradicted by a check" if i.contradicted else "")
        + f" (answer {i.answer_id})"
        for i in found.items
    }
    with st.form("review"):
        answer = st.selectbox("Answer", list(labels), format_func=labels.__getitem__)
        # Nothing is preselected: one click must not accept a claim unread.
        decision = st.radio(
            "Decision", DECISIONS, horizontal=True, index=None, key=widget_key("review-decision")
        )
        message = st.text_area(
            "Message to the supplier (needed to query or reject)",
            key=widget_key("review-message"),
        )
        if st.form_submit_button("Record decision"):
            if decision is None:
                st.error("Choose a decision: accept, query or reject.")
            else:
                run_service(
                    lambda s: review_answer(
                        s, me, answer, decision, message, platform_keys(load_settings())
                    ),
                    f"Recorded: answer {answer} {OUTCOME_OF[decision]}.",
                    clear=("review-decision", "review-message"),
                )
    _evidence(me, {i.assessment_id: i.subject for i in found.items})


def _evidence(me, subjects: dict[int, str]) -> None:  # type: ignore[no-untyped-def]
    """The files the supplier attached to a queued assessment, to open before deciding."""
    st.subheader("Evidence")
    assessment_id = st.selectbox(
        "Assessment", list(subjects), format_func=lambda a: f"{subjects[a]} (assessment {a})"
    )
    with sessions()() as session:
        files = list_evidence(session, me, assessment_id)
    if not files:
        st.caption("No evidence is attached to this assessment.")
        return
    settings = load_settings()
    for item in files:
        st.download_button(
            f"{escape_markdown(item.filename)} ({item.media_type}, {item.size_bytes:,} bytes)",
            # Read when clicked, not each time the page draws.
            lambda item=item: evidence_content(settings, item),
            file_name=item.filename,
            mime=item.media_type,
            key=f"evidence-{item.id}",
        )
