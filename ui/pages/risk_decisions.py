"""The SIRO's decisions: accept a scenario's risk until a day no later than the appetite allows
for its level (the limit is shown), revoke an acceptance, and excuse a deployed product from one
framework outcome for a period."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from frameworks.risk.policy import risk_policy
from kernel.errors import AssureError
from posture.assessment_frameworks import framework_named
from posture.identity.permissions import Principal
from posture.portfolio.deployments import deployed_product_names
from posture.risk.acceptance_state import acceptances_in_force
from posture.risk.acceptances import (
    AcceptanceForm,
    accept_risk,
    acceptance_terms,
    revoke_acceptance,
)
from posture.risk.evidence import linked_evidence
from posture.risk.exceptions import (
    ExceptionForm,
    active_exceptions,
    grant_exception,
    revoke_exception,
)
from posture.risk.forms import read_form
from posture.risk.scenarios import get_scenario
from posture.risk.treatments import treatments_and_actions
from posture.storage.models import RiskScenario
from ui.context import principal, read_service, run_service, show_flash
from ui.pages.risk_register import choose_organisation, today
from ui.pages.risk_scenario import choose_scenario
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions


def _summary(scenario: RiskScenario) -> None:
    """What the SIRO decides on: the scenario, its evidence now, its ratings and treatments."""
    matrix = risk_policy().matrix
    st.markdown(f"**{escape_markdown(scenario.title)}**")
    st.text(f"Threat: {scenario.threat_text}\nVulnerability: {scenario.vulnerability_text}")
    current = matrix.level_of(scenario.current_likelihood, scenario.current_impact)
    suggested = matrix.likelihood(scenario.suggested_likelihood).name
    lines = [
        f"Status: {scenario.status.value}",
        f"Current: {current.name} ({matrix.likelihood(scenario.current_likelihood).name} "
        f"likelihood, {matrix.impact(scenario.current_impact).name} impact); the platform "
        f"suggested {suggested} likelihood",
    ]
    if scenario.differs_because:
        lines.append(f"Rated away from the suggestion because: {scenario.differs_because}")
    with sessions()() as session:
        evidence = linked_evidence(session, scenario, today())
        treatments, actions = treatments_and_actions(session, scenario.id)
    lines += [f"Evidence: {view.label}" for view in evidence]
    lines += [f"Treatment ({t.kind.value}): {t.description}" for t in treatments]
    lines += [f"Action ({a.status.value}, due {a.due_on}): {a.title}" for a in actions]
    st.text("\n".join(lines))


def _accept(me: Principal, scenario: RiskScenario) -> None:
    st.subheader("Accept the risk")
    try:
        with sessions()() as session:
            terms = acceptance_terms(session, scenario, today())
    except AssureError as exc:
        plain_error(exc)
        return
    level, longest, limit = terms.level, terms.longest_days, terms.until
    if terms.within:
        st.info(terms.explain())
    else:
        st.warning(
            f"{terms.explain()} Accepting it records a decision above appetite, which the "
            "register and the exports show."
        )
    rationale = st.text_area("Rationale (20 characters or more)", max_chars=4000, key="acc-why")
    conditions = st.text_area("Conditions", max_chars=4000, key="acc-conditions")
    expires = _until("Accepted until", limit, "acc-until")
    if st.button("Accept the risk", key="accept"):
        if expires is None:
            plain_error(
                f"expires_on: choose a day after today and no later than {limit.isoformat()}; "
                f"a {level.name.lower()} risk may be accepted for at most {longest} days"
            )
            return
        try:
            form = read_form(
                AcceptanceForm,
                {"rationale": rationale, "conditions": conditions, "expires_on": expires},
            )
        except AssureError as exc:
            plain_error(exc)
            return
        run_service(
            lambda s: accept_risk(s, me, scenario.id, form, today()),
            f"Accepted until {form.expires_on.isoformat()}.",
        )


def _until(label: str, limit: date, key: str) -> date | None:
    # No default day: the approver picks one. A day past the limit (which the picker does not
    # offer) comes back as no day at all and is refused by the caller, so nothing is decided
    # by default.
    return st.date_input(
        f"{label} (at most {limit.isoformat()})",
        value=None,
        min_value=today() + timedelta(days=1),
        max_value=limit,
        key=key,
    )


def _revoke(me: Principal, scenario: RiskScenario) -> None:
    with sessions()() as session:
        counting = acceptances_in_force(session, scenario.id, today())
    if not counting:
        return
    st.subheader("Acceptances in force")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": a.id,
                    "level": a.residual_level,
                    "until": a.expires_on,
                    "rationale": a.rationale,
                    "conditions": a.conditions,
                }
                for a in counting
            ]
        ),
        hide_index=True,
    )
    labels = {a.id: f"{a.id}: until {a.expires_on.isoformat()}" for a in counting}
    chosen = st.selectbox("Acceptance", list(labels), format_func=labels.__getitem__)
    if st.button("Revoke the acceptance", key="revoke"):
        run_service(lambda s: revoke_acceptance(s, me, chosen, today()), "Acceptance revoked.")


def _exceptions(me: Principal, organisation_id: int) -> None:
    st.subheader("Outcome exceptions")
    names = read_service(lambda s: deployed_product_names(s, me, organisation_id))
    if names is None:
        return
    if not names:
        st.caption("No deployed product to excuse.")
        return
    product_id = st.selectbox(
        "Deployed product", list(names), format_func=names.__getitem__, key="ex-product"
    )
    with sessions()() as session:
        active = active_exceptions(session, product_id, today())
    own = [e for e in active if e.organisation_id == organisation_id]
    if own:
        # This force's own exceptions only: another force's are its risk data.
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "outcome": e.outcome_id,
                        "title": e.title,
                        "until": e.expires_on,
                        "compensating controls": e.compensating_controls,
                    }
                    for e in own
                ]
            ),
            hide_index=True,
        )
    outcomes = {o.id: o for o in framework_named(None).framework.outcomes()}
    outcome_id = st.selectbox(
        "Outcome",
        list(outcomes),
        format_func=lambda o: f"{o} {outcomes[o].title}",
        key="ex-outcome",
    )
    longest = risk_policy().appetite.max_exception_days(outcomes[outcome_id].critical)
    limit = today() + timedelta(days=longest)
    st.caption(f"An exception to this outcome runs for at most {longest} days, until {limit}.")
    controls = st.text_area("Compensating controls", max_chars=4000, key="ex-controls")
    rationale = st.text_area("Rationale", max_chars=4000, key="ex-why")
    expires = _until("Excused until", limit, "ex-until")
    if st.button("Grant the exception", key="ex-grant"):
        if expires is None:
            plain_error(
                f"expires_on: choose a day after today and no later than {limit.isoformat()}; "
                f"an exception to this outcome runs for at most {longest} days"
            )
            return
        data = {
            "organisation_id": organisation_id,
            "product_id": product_id,
            "outcome_id": outcome_id,
            "compensating_controls": controls,
            "rationale": rationale,
            "expires_on": expires,
        }
        try:
            form = read_form(ExceptionForm, data)
        except AssureError as exc:
            plain_error(exc)
            return
        run_service(
            lambda s: grant_exception(s, me, form, today()),
            f"{outcome_id} excused until {form.expires_on.isoformat()}.",
        )
    if own:
        labels = {e.exception_id: e.summary() for e in own}
        chosen = st.selectbox("Exception", list(labels), format_func=labels.__getitem__)
        if st.button("Revoke the exception", key="ex-revoke"):
            run_service(lambda s: revoke_exception(s, me, chosen), "Exception revoked.")


def decisions_page() -> None:
    st.title("Risk decisions")
    show_flash()
    me = principal()
    organisation_id = choose_organisation(me, "risk.accept", "decision-org")
    if organisation_id is None:
        return
    chosen = choose_scenario(me, organisation_id, "decision-scenario")
    if chosen is not None:
        try:
            with sessions()() as session:
                scenario = get_scenario(session, me, chosen.id)
        except AssureError as exc:
            plain_error(exc)
            return
        _summary(scenario)
        _accept(me, scenario)
        _revoke(me, scenario)
    _exceptions(me, organisation_id)
