"""Raising a risk scenario on a deployed product's evidence, with the platform's suggested
likelihood shown before it is submitted, and working one: its live evidence, re-rating,
treatments and their actions, and the residual rating."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from frameworks.risk.policy import risk_policy
from kernel.errors import AssureError
from posture.identity.permissions import Principal
from posture.portfolio.deployments import deployed_product_names
from posture.risk.evidence import (
    EvidenceView,
    available_evidence,
    evidence_in_reach,
    linked_evidence,
    suggest_from,
    suggested_likelihood,
)
from posture.risk.forms import read_form
from posture.risk.scenarios import (
    EvidenceRefsForm,
    RatingForm,
    ScenarioForm,
    get_scenario,
    link_evidence,
    raise_scenario,
    rate_scenario,
    scenarios_query,
)
from posture.risk.treatments import (
    ActionForm,
    TreatmentForm,
    add_action,
    add_treatment,
    record_residual,
    residual_blocker,
    set_action_status,
    treatments_and_actions,
)
from posture.storage.models import RiskScenario
from posture.storage.models.enums import ActionStatus, TreatmentKind
from ui.context import principal, read_service, run_service, show_flash
from ui.pages.risk_register import choose_organisation, today
from ui.plain import escape_markdown, plain, plain_error
from ui.runtime import sessions

DETAIL_KEY = "detail-scenario"


def _likelihoods() -> dict[str, str]:
    return {x.id: x.name for x in risk_policy().matrix.likelihood_levels}


def _impacts() -> dict[str, str]:
    return {x.id: x.name for x in risk_policy().matrix.impact_levels}


def _pick(label: str, names: dict[str, str], key: str, default: str | None = None) -> str:
    options = list(names)
    index = options.index(default) if default in names else 0
    return st.selectbox(label, options, index=index, format_func=names.__getitem__, key=key)


def _evidence_choice(views: list[EvidenceView], label: str, key: str) -> list[EvidenceView]:
    by_key = {f"{v.kind.value} {v.ref}": v for v in views}
    chosen = st.multiselect(
        label,
        list(by_key),
        format_func=lambda k: f"{by_key[k].kind.value}: {by_key[k].label}",
        key=key,
    )
    return [by_key[k] for k in chosen]


def _refs(views: list[EvidenceView]) -> list[dict[str, str]]:
    return [{"kind": v.kind.value, "ref": v.ref} for v in views]


def _submit(  # type: ignore[no-untyped-def]
    form_type: type, data: dict[str, Any], action, success: str, clear: tuple[str, ...] = ()
) -> None:
    """Read the form; on a refusal say why and write nothing, else run the service and empty
    the form's boxes keyed `clear`."""
    try:
        form = read_form(form_type, data)
    except AssureError as exc:
        plain_error(exc)
        return
    run_service(lambda s: action(s, form), success, clear)


def _raise(me: Principal, organisation_id: int) -> None:
    st.subheader("Raise a scenario")
    names = read_service(lambda s: deployed_product_names(s, me, organisation_id))
    if names is None:
        return
    subjects: dict[int | None, str] = {
        pid: f"Deployed product: {name}" for pid, name in names.items()
    }
    subjects[None] = "This organisation"
    product_id = st.selectbox(
        "Subject", list(subjects), format_func=subjects.__getitem__, key="raise-subject"
    )
    threats = {t.id: t.name for t in risk_policy().threats.threats}
    threat = _pick("Threat", threats, "raise-threat")
    title = st.text_input("Title", max_chars=200, key="raise-title")
    threat_text = st.text_area("The threat", max_chars=4000, key="raise-threat-text")
    weakness = st.text_area("The vulnerability", max_chars=4000, key="raise-vulnerability")
    inherent_l = _pick("Inherent likelihood", _likelihoods(), "raise-il")
    inherent_i = _pick("Inherent impact", _impacts(), "raise-ii")
    current_i = _pick("Current impact", _impacts(), "raise-ci")
    views: list[EvidenceView] = []
    if product_id is not None:
        with sessions()() as session:
            available = available_evidence(session, product_id, today())
        views = _evidence_choice(available, "Evidence about the product", "raise-evidence")
    suggestion = suggest_from(views)
    names = _likelihoods()
    st.markdown(f"**Suggested current likelihood:** {names[suggestion.likelihood]}")
    st.caption(escape_markdown(suggestion.explain()))
    # Keyed by the suggestion so the default follows it when the evidence chosen changes.
    current_l = _pick(
        "Current likelihood", names, f"raise-cl-{suggestion.likelihood}", suggestion.likelihood
    )
    because = None
    if current_l != suggestion.likelihood:
        because = st.text_area(
            "Why it differs from the suggestion (required)", max_chars=4000, key="raise-because"
        )
    if not st.button("Raise the scenario", key="raise"):
        return
    data = {
        "organisation_id": organisation_id,
        "subject_kind": "deployment" if product_id is not None else "organisation",
        "product_id": product_id,
        "title": title,
        "threat": threat,
        "threat_text": threat_text,
        "vulnerability_text": weakness,
        "inherent_likelihood": inherent_l,
        "inherent_impact": inherent_i,
        "current_impact": current_i,
        "current_likelihood": current_l,
        "differs_because": because or None,
        "evidence": _refs(views),
    }

    def create(session, form):  # type: ignore[no-untyped-def]
        scenario = raise_scenario(session, me, form, today())
        # The detail below is drawn after this section: the new scenario is shown next.
        st.session_state[DETAIL_KEY] = scenario.id
        return scenario

    _submit(
        ScenarioForm,
        data,
        create,
        "Scenario raised.",
        ("raise-title", "raise-threat-text", "raise-vulnerability", "raise-because"),
    )


def choose_scenario(me: Principal, organisation_id: int, key: str) -> RiskScenario | None:
    """The scenario chosen under `key`: the newest until the reader picks another (or raises
    one, which `_raise` picks for them)."""
    with sessions()() as session:
        found = {s.id: s for s in session.scalars(scenarios_query(me, organisation_id))}
    if not found:
        st.caption("No scenario raised yet.")
        return None
    if st.session_state.get(key) not in found:
        st.session_state[key] = max(found)
    chosen = st.selectbox(
        "Scenario", list(found), format_func=lambda i: f"{i}: {found[i].title}", key=key
    )
    return found[chosen]


def _rating(scenario: RiskScenario) -> str:
    matrix = risk_policy().matrix
    current = matrix.level_of(scenario.current_likelihood, scenario.current_impact)
    inherent = matrix.level_of(scenario.inherent_likelihood, scenario.inherent_impact)
    text = f"Inherent {inherent.name}; current {current.name}"
    if scenario.residual_likelihood and scenario.residual_impact:
        residual = matrix.level_of(scenario.residual_likelihood, scenario.residual_impact)
        text += f"; residual {residual.name}"
    return f"{text}; status {scenario.status.value}."


def _rerate(me: Principal, scenario: RiskScenario) -> None:
    with st.expander("Re-rate"):
        il = _pick("Inherent likelihood", _likelihoods(), "rr-il", scenario.inherent_likelihood)
        ii = _pick("Inherent impact", _impacts(), "rr-ii", scenario.inherent_impact)
        cl = _pick("Current likelihood", _likelihoods(), "rr-cl", scenario.current_likelihood)
        ci = _pick("Current impact", _impacts(), "rr-ci", scenario.current_impact)
        because = st.text_area(
            "Why it differs from the suggestion (required when it does)",
            value=scenario.differs_because or "",
            key="rr-because",
        )
        if st.button("Re-rate", key="rr"):
            data = {
                "inherent_likelihood": il,
                "inherent_impact": ii,
                "current_likelihood": cl,
                "current_impact": ci,
                "differs_because": because.strip() or None,
            }
            _submit(
                RatingForm,
                data,
                lambda s, f: rate_scenario(s, me, scenario.id, f, today()),
                "Re-rated.",
            )


def _add_evidence(me: Principal, scenario: RiskScenario, linked: set[tuple[str, str]]) -> None:
    if scenario.product_id is None:
        return
    with sessions()() as session:
        if not evidence_in_reach(session, scenario):
            st.caption("The deployment has ended: the product's evidence is no longer shown.")
            return
        available = [
            v
            for v in available_evidence(session, scenario.product_id, today())
            if v.key not in linked
        ]
    chosen = _evidence_choice(available, "Link more evidence", "more-evidence")
    if st.button("Link the evidence", key="link"):
        _submit(
            EvidenceRefsForm,
            {"refs": _refs(chosen)},
            lambda s, f: link_evidence(s, me, scenario.id, f, today()),
            "Evidence linked.",
        )


def _treatments(me: Principal, scenario: RiskScenario) -> None:
    st.markdown("**Treatments and actions**")
    with sessions()() as session:
        treatments, actions = treatments_and_actions(session, scenario.id)
        blocker = residual_blocker(session, scenario.id)
    if treatments:
        st.dataframe(
            pd.DataFrame(
                [
                    {"id": t.id, "kind": t.kind.value, "description": t.description}
                    for t in treatments
                ]
            ),
            hide_index=True,
        )
    if actions:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": a.id,
                        "treatment": a.treatment_id,
                        "title": a.title,
                        "owner": a.owner,
                        "due": a.due_on,
                        "status": a.status.value,
                    }
                    for a in actions
                ]
            ),
            hide_index=True,
        )
    kinds = {k.value: k.value for k in TreatmentKind}
    kind = _pick("Treatment", kinds, "t-kind")
    description = st.text_area("How it treats the risk", max_chars=4000, key="t-text")
    if st.button("Add the treatment", key="t-add"):
        _submit(
            TreatmentForm,
            {"kind": kind, "description": description},
            lambda s, f: add_treatment(s, me, scenario.id, f),
            "Treatment added.",
            ("t-text",),
        )
    if treatments:
        ids = {t.id: f"{t.id}: {t.kind.value}" for t in treatments}
        treatment_id = st.selectbox("Action for treatment", list(ids), format_func=ids.__getitem__)
        title = st.text_input("Action", max_chars=200, key="a-title")
        owner = st.text_input("Owner", max_chars=200, key="a-owner")
        due = st.date_input("Due", value=today() + timedelta(days=30), key="a-due")
        if st.button("Add the action", key="a-add"):
            _submit(
                ActionForm,
                {"title": title, "owner": owner, "due_on": due},
                lambda s, f: add_action(s, me, treatment_id, f),
                "Action added.",
                ("a-title", "a-owner"),
            )
    if actions:
        labels = {a.id: f"{a.id}: {a.title} ({a.status.value})" for a in actions}
        action_id = st.selectbox("Action to move on", list(labels), format_func=labels.__getitem__)
        status = st.selectbox("New status", [s.value for s in ActionStatus], key="a-status")
        if st.button("Set the status", key="a-set"):
            run_service(
                lambda s: set_action_status(s, me, action_id, ActionStatus(status), today()),
                "Action updated.",
            )
    st.markdown("**Residual rating**")
    if blocker:
        st.caption(f"Not yet: {escape_markdown(blocker)}.")
        return
    rl = _pick("Residual likelihood", _likelihoods(), "res-l")
    ri = _pick("Residual impact", _impacts(), "res-i")
    if st.button("Record the residual", key="res"):
        run_service(lambda s: record_residual(s, me, scenario.id, rl, ri), "Residual recorded.")


def _detail(me: Principal, organisation_id: int) -> None:
    st.subheader("Scenario")
    chosen = choose_scenario(me, organisation_id, DETAIL_KEY)
    if chosen is None:
        return
    try:
        with sessions()() as session:
            scenario = get_scenario(session, me, chosen.id)
            links = linked_evidence(session, scenario, today())
            suggestion = suggested_likelihood(session, scenario, today())
    except AssureError as exc:
        plain_error(exc)
        return
    plain(scenario.title)
    st.markdown(escape_markdown(_rating(scenario)))
    st.markdown(f"**Suggested current likelihood:** {_likelihoods()[suggestion.likelihood]}")
    st.caption(escape_markdown(suggestion.explain()))
    if scenario.differs_because:
        st.caption("Rated otherwise because:")
        plain(scenario.differs_because)
    if links:
        st.dataframe(
            pd.DataFrame(
                [
                    {"kind": v.kind, "ref": v.ref, "state": v.state, "evidence": v.label}
                    for v in links
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("No evidence linked.")
    _rerate(me, scenario)
    _add_evidence(me, scenario, {(v.kind, v.ref) for v in links})
    _treatments(me, scenario)


def scenarios_page() -> None:
    st.title("Risk scenarios")
    show_flash()
    me = principal()
    organisation_id = choose_organisation(me, "risk.write", "scenario-org")
    if organisation_id is None:
        return
    _raise(me, organisation_id)
    _detail(me, organisation_id)
