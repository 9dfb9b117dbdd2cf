"""Assurance passports: the ones a user may see, each downloadable as its signed file and as a
summary for people; a force relies on one for its deployment; a national assessor suspends,
revokes or reinstates one; national roles see the assessments reliance saved; anyone verifies a
passport file they were given."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.identity.permissions import Principal, holds, visible_organisations
from posture.passport.document import INVALID, VALID
from posture.passport.policy import passport_policy
from posture.passport.registry import (
    DECISIONS,
    decide,
    list_passports,
    passport_file,
    verify_here,
)
from posture.passport.reliance import assurance_avoided, force_reliances, rely_on_passport
from posture.passport.summary_pdf import passport_pdf
from posture.platform_keys import platform_keys
from posture.portfolio.deployments import live_deployment
from posture.storage.models import Organisation
from ui.context import principal, read_service, run_service, show_flash, uk_time, widget_key
from ui.plain import escape_markdown, plain, plain_error
from ui.runtime import sessions

# What each decision leaves the passport, in words: its status, or back in force.
DONE = {decision: status.value for decision, status in DECISIONS.items()} | {
    "reinstate": "reinstated"
}


def passports_page() -> None:
    st.title("Assurance passports")
    show_flash()
    me = principal()
    st.caption(
        "A passport is issued when a national assessor accepts a product's assessment in full. "
        "It is signed (Ed25519 and ML-DSA-65), so a force can rely on it instead of assessing "
        "the product again, and anyone can verify it offline."
    )
    if holds(me, "posture.dashboard"):
        _avoided(me)
    search = st.text_input("Product name contains", max_chars=100, key="passport-search")
    found = read_service(lambda s: list_passports(s, me, search=search))
    if found is None:
        return
    if not found:
        st.info("No passport matches." if search.strip() else "No passport you may see yet.")
    else:
        now = utcnow()
        st.dataframe(
            pd.DataFrame(
                {
                    "Passport": [p.number for p in found],
                    "Product": [p.product for p in found],
                    "Supplier": [p.supplier for p in found],
                    "Standing": [p.standing_at(now) for p in found],
                    "Issued": [uk_time(p.issued_at) for p in found],
                    "Expires": [uk_time(p.expires_at) for p in found],
                }
            ),
            hide_index=True,
        )
        standings = [p.standing_at(now) for p in found]
        chosen = st.selectbox(
            "Passport",
            found,
            # The newest valid one first: it is the one a force would rely on.
            index=standings.index(VALID) if VALID in standings else 0,
            format_func=lambda p: f"{p.number}: {p.product} ({p.standing_at(now)})",
        )
        _downloads(me, chosen.number)
        if holds(me, "deployment.manage"):
            _rely(me, chosen.product_id, chosen.number, chosen.standing_at(now))
        if holds(me, "passport.manage"):
            _decide(chosen.number)
    _verify()


def _avoided(me: Principal) -> None:
    view = read_service(lambda s: assurance_avoided(s, me))
    if view is None:
        return
    left, right = st.columns(2)
    left.metric("Assessments avoided", view.avoided, help="Forces relying on a valid passport.")
    right.metric("Reliances recorded", view.reliances)


def _downloads(me: Principal, number: str) -> None:
    document = read_service(lambda s: passport_file(s, me, number))
    if document is None:
        return
    left, right = st.columns(2)
    left.download_button(
        "Download the signed passport (JSON)",
        document,
        file_name=f"passport-{number}.json",
        mime="application/json",
    )
    # Built now rather than on the click: a deferred file is sometimes gone from Streamlit's
    # media store by the time the second button on the page asks for it.
    right.download_button(
        "Download the summary (PDF)",
        passport_pdf(document),
        file_name=f"passport-{number}.pdf",
        mime="application/pdf",
    )


def _force_of(me: Principal) -> int | None:
    """The organisation whose deployments the user records, when they record any."""
    scope = visible_organisations(me, "deployment.manage")
    return None if not scope else min(scope)


def _rely(me: Principal, product_id: int, number: str, standing: str) -> None:
    organisation_id = _force_of(me)
    if organisation_id is None:
        return
    with sessions()() as session:
        deployed = live_deployment(session, organisation_id, product_id) is not None
        force = session.get(Organisation, organisation_id)
        relied = force_reliances(session, me, organisation_id)
    st.subheader(f"{escape_markdown(force.name if force else 'Your force')}'s reliance")
    if relied:
        st.dataframe(
            pd.DataFrame(
                {
                    "Product": [r.product for r in relied],
                    "Passport": [r.passport for r in relied],
                    "Standing": [r.standing for r in relied],
                    "Since": [uk_time(r.recorded_at) for r in relied],
                }
            ),
            hide_index=True,
        )
    if not deployed:
        st.caption("Your force does not deploy this product, so it cannot rely on its passport.")
        return
    if standing != VALID:
        st.caption(f"This passport is {standing}: it cannot be relied on.")
        return
    if any(r.passport == number for r in relied):
        st.caption("Your deployment of this product relies on this passport.")
        return
    if st.button("Rely on this passport for our deployment", key="rely"):
        run_service(
            lambda s: rely_on_passport(s, me, organisation_id, product_id, number),
            f"Your deployment now relies on passport {number}.",
        )


def _decide(number: str) -> None:
    me = principal()
    with st.form("passport-decision"):
        decision = st.radio("Decision", list(DECISIONS), horizontal=True)
        reason = st.text_area(
            "Reason (shown to the supplier and to deploying forces)",
            key=widget_key("passport-reason", number),
        )
        if st.form_submit_button("Record the decision"):
            run_service(
                lambda s: decide(s, me, number, decision, reason),
                f"Passport {number} {DONE[decision]}.",
                clear=("passport-reason",),
            )


def _verify() -> None:
    st.subheader("Verify a passport file")
    limit = passport_policy().max_document_bytes // 1024
    upload = st.file_uploader(
        f"Passport file (JSON, {limit} KiB at most)",
        type=["json"],
        key="verify-passport",
        max_upload_size=1,
    )
    if upload is None:
        return
    data = upload.getvalue()
    try:
        with sessions()() as session:
            verdict = verify_here(session, platform_keys(load_settings()).public(), data)
    except ValueError as exc:
        plain_error(exc)
        return
    if verdict.valid and verdict.passport is not None:
        st.success(f"Valid: {verdict.passport.number}")
    elif verdict.state == INVALID:
        st.error("Not valid: this is not a passport exactly as the platform signed it")
    else:
        st.error(f"Not valid: {verdict.state}")
    for reason in verdict.reasons:
        plain(reason)
