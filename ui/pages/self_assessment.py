"""Self-assessment, guided: choose the subject and framework, answer each outcome with a live
preview of the status the scorer will give it, see progress overall and by objective, attach
evidence to the outcomes it supports, read the assessor's queries beside the answers they
concern, and submit, with a confirmation when outcomes are left unanswered. The decisions are
made in supplier_portal (assessment_guide, assessments, evidence, assessor_queries)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from frameworks.catalogue_view import catalogue_id_of
from frameworks.loader import LoadedFramework
from frameworks.schema import LEVEL_ORDER, Outcome
from kernel.errors import AssureError
from posture.assessment_frameworks import assessable_frameworks, framework_of
from posture.identity.permissions import Principal, holds
from posture.scoring.rules import claimed_level
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment
from supplier_portal import assessment_inference, assessments, evidence, products
from supplier_portal.assessment_guide import (
    Progress,
    assessment_progress,
    outcomes_in_scope,
    preview_status,
    status_name,
)
from supplier_portal.assessor_queries import AssessorQuery, open_queries
from supplier_portal.forms import AnswerForm, parse_form
from ui.assessment_evidence import evidence_section, outcome_evidence
from ui.context import principal, run_service, show_flash, widget_key
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions

# Widgets of the answer being edited: a success moves them on a generation (run_service clear),
# so they are drawn again from the saved answer.
ANSWER = "answer"
CONFIRM_PARTIAL = "submit-partial"
DRAFT_KEY = "assessment_id"


def assessment_page() -> None:
    st.title("Self-assessment")
    show_flash()
    me = principal()
    frameworks = {f"{f.framework.title} {f.framework.version}": f for f in assessable_frameworks()}
    loaded = frameworks[st.selectbox("Framework", list(frameworks))]
    with sessions()() as session:
        # Forces assess themselves; only suppliers have products to choose from.
        mine = products.list_products(session, me) if holds(me, "product.read") else []
        queries = open_queries(session, me)
        drafts = [
            (a.id, a.product_id, a.framework_version.framework_id)
            for a in assessments.list_assessments(session, me)
            if a.status == "draft"
        ]
    _queries_summary(queries)
    names = {p.id: p.name for p in mine}
    subjects = {f"Product: {p.name}": p.id for p in mine}
    subjects["My organisation"] = None
    label = st.selectbox("Subject", list(subjects))
    organisation = sorted(me.organisation_ids())[0]
    shown, profile = _target_profile(me, loaded, organisation, subjects[label])
    if not shown:
        return
    if st.button("Start or continue the draft"):

        def start(session):  # type: ignore[no-untyped-def]
            draft = assessments.start_assessment(
                session, me, organisation, subjects[label], profile,
                catalogue_id_of(loaded.framework),
            )  # fmt: skip
            st.session_state[DRAFT_KEY] = draft.id
            return draft

        run_service(start, "Draft ready.")
    draft_id = _chosen_draft(drafts, subjects[label], loaded)
    if draft_id is None:
        return
    _follow_target(me, draft_id)
    with sessions()() as session:
        draft = assessments.get_assessment(session, me, draft_id)
        loaded = framework_of(session, draft)
        answered = {a.outcome_id: a for a in assessments.list_answers(session, me, draft_id)}
        files = evidence.list_evidence(session, me, draft_id)
    scope = outcomes_in_scope(loaded.framework, loaded.profiles[draft.profile_id])
    inferred = {o for o, a in answered.items() if a.inferred_from is not None}
    progress = assessment_progress(
        loaded.framework, loaded.profiles[draft.profile_id], set(answered) - inferred, inferred
    )
    subject = names.get(draft.product_id, "your product") if draft.product_id else "My organisation"
    st.caption(
        f"Draft {draft.id} for {escape_markdown(subject)} against {loaded.framework.title} "
        f"{loaded.framework.version}, version {draft.version}, profile {draft.profile_id}."
    )
    _progress_section(progress)
    states = _outcome_states(draft, loaded, scope, answered, queries)
    outcome = _choose_outcome(draft, scope, states)
    _answer_section(me, draft, loaded, outcome, answered.get(outcome.id), queries)
    outcome_evidence(outcome.id, files)
    evidence_section(me, draft, scope, files, outcome.id)
    infer_section(me, draft.id)
    _submit_section(me, draft, progress)


def _queries_summary(queries: list[AssessorQuery]) -> None:
    """Every open query, naming its product: the supplier sees them before choosing a draft."""
    if not queries:
        return
    st.subheader("The assessor asks")
    for query in queries:
        st.warning(escape_markdown(query.words()))


def _target_profile(
    me: Principal, loaded: LoadedFramework, organisation: int, product_id: int | None
) -> tuple[bool, str | None]:
    """(shown, profile): a supplier's derived profile is shown with its reasons and not chosen
    (None); a force chooses among its own. Not shown when the target cannot be worked out."""
    # A supplier's profile follows from its facts; a force chooses its own among the force's.
    if not any(m.role.value.startswith("supplier") for m in me.memberships):
        force_profiles = [p for p, v in loaded.profiles.items() if v.subject.value == "force"]
        return True, st.selectbox("Target profile", force_profiles)
    try:
        with sessions()() as session:
            target = assessments.supplier_target(
                session, me, organisation, product_id, catalogue_id_of(loaded.framework)
            )
    except AssureError as exc:
        plain_error(exc)
        return False, None
    st.markdown(f"**Target profile:** {escape_markdown(target.explain())}")
    st.caption(
        "Derived from the product's facts (classification, hosting, data locations, "
        "networks, national systems, vetting, scale); change them on the My products page. "
        "A fact not declared is read as the most demanding."
    )
    return True, None


def _chosen_draft(
    drafts: list[tuple[int, int | None, str]], product_id: int | None, loaded: LoadedFramework
) -> int | None:
    """The draft opened in this session; else the draft for the chosen subject and framework
    (after a reload, say); else any open draft. `drafts`: (id, product id, framework id)."""
    chosen = st.session_state.get(DRAFT_KEY)
    if chosen in {draft_id for draft_id, _, _ in drafts}:
        return int(chosen)
    for draft_id, subject, framework_id in drafts:
        if subject == product_id and framework_id == loaded.framework.framework_id:
            return draft_id
    return drafts[0][0] if drafts else None


def _follow_target(me: Principal, draft_id: int) -> None:
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


def _progress_section(progress: Progress) -> None:
    st.subheader("Progress")
    said = f"{progress.answered} of {progress.in_scope} outcomes answered"
    if progress.to_confirm:
        said += f", {progress.to_confirm} inferred to confirm"
    st.progress(progress.answered / max(progress.in_scope, 1), text=said)
    table = pd.DataFrame(
        [
            {
                "Objective": f"{row.objective_id} {row.title}",
                "Answered": row.answered,
                "Inferred to confirm": row.to_confirm,
                "Unanswered": row.unanswered,
                "In scope": row.in_scope,
            }
            for row in progress.by_objective
        ]
    )
    st.table(table.set_index("Objective"))


def _outcome_states(
    draft: Assessment,
    loaded: LoadedFramework,
    scope: list[Outcome],
    answered: dict[str, Answer],
    queries: list[AssessorQuery],
) -> dict[str, str]:
    """Each outcome's saved status in words, as the scorer counts it."""
    framework_id = loaded.framework.framework_id
    states = {}
    for outcome in scope:
        answer = answered.get(outcome.id)
        if answer is None:
            state = "Unanswered"
        else:
            claim = claimed_level(
                outcome, tuple(answer.indicators_met), answer.not_applicable, answer.justification
            )
            state = status_name(claim.level)
            if answer.inferred_from is not None:
                state += " (inferred: confirm or change it)"
        if any(q.concerns(draft, framework_id, outcome.id) for q in queries):
            state += "; queried by the assessor"
        states[outcome.id] = state
    return states


def _choose_outcome(draft: Assessment, scope: list[Outcome], states: dict[str, str]) -> Outcome:
    by_id = {o.id: o for o in scope}
    with st.expander("Every outcome in scope and its saved status"):
        st.table(
            pd.DataFrame(
                [{"Outcome": f"{o.id} {o.title}", "Saved status": states[o.id]} for o in scope]
            ).set_index("Outcome")
        )
    # Labels stay the same whatever is saved: a label that changed under the browser's choice
    # would send back a value no longer among the options, and the choice would jump.
    chosen = st.selectbox(
        "Outcome",
        list(by_id),
        format_func=lambda i: f"{i} {by_id[i].title}" if i in by_id else str(i),
        key=f"assessment-outcome-{draft.id}",
    )
    st.caption(f"Saved status: {states[chosen]}.")
    return by_id[chosen]


def _answer_section(
    me: Principal,
    draft: Assessment,
    loaded: LoadedFramework,
    outcome: Outcome,
    previous: Answer | None,
    queries: list[AssessorQuery],
) -> None:
    st.subheader(f"{outcome.id} {outcome.title}")
    for query in queries:
        if query.concerns(draft, loaded.framework.framework_id, outcome.id):
            st.warning(escape_markdown(f"About this answer: {query.words()}"))
    note = assessments.inferred_label(previous) if previous is not None else None
    if note:
        st.info(note[0].upper() + note[1:] + ": saving the answer confirms it.")
    st.write(outcome.intent)
    scope = (draft.id, outcome.id)
    not_applicable = st.checkbox(
        "Not applicable to this subject",
        value=bool(previous and previous.not_applicable),
        key=widget_key(ANSWER, *scope, "na"),
    )
    chosen: list[str] = []
    justification = ""
    if not_applicable:
        justification = st.text_input(
            "Why not applicable",
            value=previous.justification if previous else "",
            key=widget_key(ANSWER, *scope, "why"),
        )
    else:
        st.caption("Tick each indicator that holds; the preview below updates as you tick.")
        for level, indicators in outcome.indicators.by_level().items():
            if not indicators:
                continue
            st.markdown(f"**{status_name(LEVEL_ORDER[level])}**")
            for indicator in indicators:
                if st.checkbox(
                    f"{indicator.text} ({indicator.id})",
                    value=bool(previous and indicator.id in previous.indicators_met),
                    key=widget_key(ANSWER, *scope, indicator.id),
                ):
                    chosen.append(indicator.id)
    comment = st.text_area(
        "Comment", value=previous.comment if previous else "", key=widget_key(ANSWER, *scope, "c")
    )
    _preview(outcome, chosen, not_applicable, justification, loaded, draft)
    if st.button("Save answer", key=widget_key(ANSWER, *scope, "save")):
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
            run_service(
                lambda s: assessments.save_answer(s, me, draft.id, form),
                "Answer saved.",
                clear=(ANSWER,),
            )


def _preview(  # type: ignore[no-untyped-def]
    outcome: Outcome, chosen: list[str], not_applicable: bool, justification: str, loaded, draft
) -> None:
    """The status these ticks give, before saving, from the scorer's own rule."""
    target = loaded.profiles[draft.profile_id].target_for(outcome)
    try:
        preview = preview_status(outcome, chosen, not_applicable, justification, target)
    except AssureError as exc:
        plain_error(exc)
        return
    said = f"**Preview: {preview.status}.** {escape_markdown(preview.headline())}"
    notes = "".join(f"\n\n{escape_markdown(n)}" for n in preview.notes)
    if preview.meets_target is True:
        st.success(said + notes)
    elif preview.meets_target is False:
        st.warning(said + notes)
    else:
        st.info(said + notes)


def _submit_section(me: Principal, draft: Assessment, progress: Progress) -> None:
    st.subheader("Submit")
    if not holds(me, "assessment.submit"):
        st.caption("Your organisation's administrator submits the assessment for review.")
        return
    gaps = progress.unanswered
    confirmed = True
    if gaps:
        shown = ", ".join(gaps[:8]) + (", ..." if len(gaps) > 8 else "")
        st.warning(
            f"{len(gaps)} of {progress.in_scope} outcomes are unanswered ({shown}). Each counts "
            "as Not achieved in your score until a later version answers it."
        )
        confirmed = st.checkbox(
            f"Submit with {len(gaps)} outcomes unanswered",
            key=widget_key(CONFIRM_PARTIAL, draft.id),
        )
    if st.button("Submit the assessment", type="primary", disabled=not confirmed):

        def submit(session):  # type: ignore[no-untyped-def]
            allowed = len(gaps) if confirmed else 0
            submitted = assessments.submit_assessment(
                session, me, draft.id, allow_unanswered=allowed
            )
            st.session_state.pop(DRAFT_KEY, None)
            return submitted

        run_service(submit, "Submitted for review.", clear=(ANSWER, CONFIRM_PARTIAL))


def infer_section(me: Principal, draft_id: int) -> None:
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
