"""Supplier pages: products (register, edit, withdraw, prove post-quantum signing), and
self-assessment with evidence."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from frameworks.catalogue_view import catalogue_id_of
from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.assessment_frameworks import assessable_frameworks, framework_of
from posture.identity.permissions import holds
from posture.storage.engine import transaction
from supplier_portal import assessment_inference, assessments, evidence, products
from supplier_portal.forms import AnswerForm, parse_form
from supplier_portal.reviews import queries_for_supplier
from ui.context import principal, run_service, show_flash, widget_key
from ui.plain import escape_markdown, plain_error
from ui.pq_proof import pq_proof_section
from ui.product_changes import edit_section, withdraw_section
from ui.product_form import product_form
from ui.runtime import sessions

LEVELS = {
    "not_achieved": "Not achieved",
    "partially_achieved": "Partially achieved",
    "achieved": "Achieved",
}


def _profile(me) -> None:  # type: ignore[no-untyped-def]
    from supplier_portal.organisations import ProfileForm, get_profile, update_profile

    organisation_id = sorted(me.organisation_ids())[0]
    with sessions()() as session:
        organisation = get_profile(session, me, organisation_id)
    with st.expander(f"Organisation profile: {escape_markdown(organisation.name)}"):
        with st.form("profile"):
            description = st.text_area("About us", value=organisation.description)
            website = st.text_input("Website", value=organisation.website or "")
            contact = st.text_input(
                "Security contact email", value=organisation.security_contact or ""
            )
            sent = st.form_submit_button("Save profile")
        if sent:
            try:
                form = parse_form(
                    ProfileForm,
                    {
                        "description": description,
                        "website": website or None,
                        "security_contact": contact or None,
                    },
                )
            except AssureError as exc:
                plain_error(exc)
            else:
                run_service(
                    lambda s: update_profile(s, me, organisation_id, form), "Profile saved."
                )


def products_page() -> None:
    st.title("My products")
    show_flash()
    me = principal()
    _profile(me)
    with sessions()() as session:
        mine = products.list_products(session, me)
    if mine:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": p.id,
                        "name": p.name,
                        "category": p.category,
                        "deployment": p.deployment_model,
                        "data locations": ", ".join(p.data_locations or []),
                        "certifications": ", ".join(c["scheme"] for c in p.certifications or []),
                    }
                    for p in mine
                ]
            ),
            hide_index=True,
        )
    form = product_form("register", "Register", heading="Register a product")
    if form is not None:
        organisation = sorted(me.organisation_ids())[0]
        run_service(
            lambda s: products.create_product(s, me, organisation, form), "Product registered."
        )
    if mine:
        edit_section(me, mine)
        withdraw_section(me, mine)
        if holds(me, "check.run"):
            pq_proof_section(me, mine)


def _follow_target(me, draft_id: int) -> None:  # type: ignore[no-untyped-def]
    """A draft its facts have moved past is moved to its target before it is shown, so the
    outcomes now in scope are there to answer (and it can then be submitted)."""
    try:
        with transaction(sessions()) as session:
            moved = assessments.sync_draft_target(session, me, draft_id)
    except AssureError as exc:
        plain_error(exc)
        return
    if moved is not None and moved.up:
        st.warning(
            f"This draft now measures against {moved.after}, not {moved.before}: "
            f"{escape_markdown(moved.because)}. Answer the outcomes now in scope before submitting."
        )


def assessment_page() -> None:
    st.title("Self-assessment")
    show_flash()
    me = principal()
    frameworks = {f"{f.framework.title} {f.framework.version}": f for f in assessable_frameworks()}
    loaded = frameworks[st.selectbox("Framework", list(frameworks))]
    with sessions()() as session:
        # Forces assess themselves; only suppliers have products to choose from.
        mine = products.list_products(session, me) if holds(me, "product.read") else []
        queried = queries_for_supplier(session, me)
        drafts = [a for a in assessments.list_assessments(session, me) if a.status == "draft"]
    for answer in queried:
        said = escape_markdown(answer.review_message)
        st.warning(f"Assessor {answer.review_status} {escape_markdown(answer.outcome_id)}: {said}")
    subjects = {f"Product: {p.name}": p.id for p in mine}
    subjects["My organisation"] = None
    label = st.selectbox("Subject", list(subjects))
    organisation = sorted(me.organisation_ids())[0]
    # A supplier's profile follows from its facts; a force chooses its own among the force's.
    is_supplier = any(m.role.value.startswith("supplier") for m in me.memberships)
    profile: str | None = None
    if is_supplier:
        try:
            with sessions()() as session:
                target = assessments.supplier_target(
                    session, me, organisation, subjects[label], catalogue_id_of(loaded.framework)
                )
        except AssureError as exc:
            plain_error(exc)
            return
        st.markdown(f"**Target profile:** {escape_markdown(target.explain())}")
        st.caption(
            "Derived from the product's facts (classification, hosting, data locations, "
            "networks, national systems, vetting, scale); change them on the My products page. "
            "A fact not declared is read as the most demanding."
        )
    else:
        profile = st.selectbox(
            "Target profile", [p for p, v in loaded.profiles.items() if v.subject.value == "force"]
        )
    if st.button("Start or continue the draft"):

        def start(session):  # type: ignore[no-untyped-def]
            draft = assessments.start_assessment(
                session,
                me,
                organisation,
                subjects[label],
                profile,
                catalogue_id_of(loaded.framework),
            )
            st.session_state["assessment_id"] = draft.id
            return draft

        run_service(start, "Draft ready.")
    draft_id = st.session_state.get("assessment_id") or (drafts[0].id if drafts else None)
    if draft_id is None:
        return
    _follow_target(me, draft_id)
    with sessions()() as session:
        draft = assessments.get_assessment(session, me, draft_id)
        loaded = framework_of(session, draft)
        answered = {a.outcome_id: a for a in assessments.list_answers(session, me, draft_id)}
    inferred = {o: a for o, a in answered.items() if a.inferred_from is not None}
    scope = [
        o
        for o in loaded.framework.outcomes()
        if loaded.profiles[draft.profile_id].target_for(o) is not None
    ]
    st.caption(
        f"Draft {draft.id} against {loaded.framework.title} {loaded.framework.version}, "
        f"version {draft.version}, profile {draft.profile_id}: "
        f"{len(answered) - len(inferred)} of {len(scope)} outcomes answered"
        + (f", {len(inferred)} inferred to confirm" if inferred else "")
    )
    outcome = st.selectbox(
        "Outcome",
        scope,
        format_func=lambda o: f"{o.id} {o.title}" + (" (inferred)" if o.id in inferred else ""),
    )
    previous = answered.get(outcome.id)
    note = assessments.inferred_label(previous) if previous is not None else None
    if note:
        st.info(note[0].upper() + note[1:] + ": saving the answer confirms it.")
    with st.form(f"answer-{outcome.id}"):
        st.write(outcome.intent)
        chosen = []
        for level, indicators in outcome.indicators.by_level().items():
            st.markdown(f"**{LEVELS[level]}**")
            for indicator in indicators:
                ticked = st.checkbox(
                    indicator.text,
                    key=f"i-{indicator.id}",
                    value=bool(previous and indicator.id in previous.indicators_met),
                )
                if ticked:
                    chosen.append(indicator.id)
        not_applicable = st.checkbox(
            "Not applicable", value=bool(previous and previous.not_applicable)
        )
        justification = st.text_input(
            "Why not applicable", value=previous.justification if previous else ""
        )
        comment = st.text_area("Comment", value=previous.comment if previous else "")
        saved = st.form_submit_button("Save answer")
    if saved:
        try:
            form = parse_form(
                AnswerForm,
                {
                    "outcome_id": outcome.id,
                    "indicators_met": chosen,
                    "not_applicable": not_applicable,
                    "justification": justification,
                    "comment": comment,
                },
            )
        except AssureError as exc:
            plain_error(exc)
        else:
            run_service(lambda s: assessments.save_answer(s, me, draft_id, form), "Answer saved.")
    infer_section(me, draft.id)
    upload = st.file_uploader(
        "Attach evidence (PDF, image, Office, JSON or text; 10 MiB)",
        key=widget_key("evidence-file", draft_id),
    )
    # No bounds on the picker: a day it would grey out is passed on, and the service refuses
    # it with its reason (a picker out of range answers None, which would store no expiry).
    holds_until = st.date_input(
        "Valid until (optional: the last day the document holds; you are reminded before it)",
        value=None,
        key=widget_key("evidence-expires-on", draft_id),
    )
    if upload is not None and st.button("Upload evidence"):
        settings = load_settings()
        run_service(
            lambda s: evidence.add_evidence(
                s, me, settings, draft_id, upload.name, upload.getvalue(), holds_until
            ),
            "Evidence stored.",
            clear=("evidence-file", "evidence-expires-on"),
        )
    if st.button("Submit the assessment"):

        def submit(session):  # type: ignore[no-untyped-def]
            submitted = assessments.submit_assessment(session, me, draft_id)
            st.session_state.pop("assessment_id", None)
            return submitted

        run_service(submit, "Submitted for review.")
    st.caption(f"Today is {date.today().isoformat()}.")


def infer_section(me, draft_id: int) -> None:  # type: ignore[no-untyped-def]
    """Offer answers from the subject's submitted assessment against another framework."""
    with st.expander("Infer answers from another framework"):
        st.caption(
            "Empty answers are filled where a crosswalk says an answered outcome covers this one "
            "whole. Each is marked inferred and counts only once you confirm or change it."
        )
        if st.button("Infer answers"):
            run_service(
                lambda s: assessment_inference.infer_into_draft(s, me, draft_id),
                "Inferred answers added: confirm or change each one.",
            )
