"""The products a force deploys on its risk register: the profile each deployment needs (the
product's facts with the force's own use added), whether the product's assessment reaches it,
and, for those who manage deployments, deploying a listed or accepted product and saying what
the force's use adds."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from frameworks.deployment_facts import (
    LABELS,
    MAX_RECORDS,
    ForceUse,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
)
from kernel.errors import AssureError
from posture.identity.permissions import Principal, holds
from posture.plain_text import said
from posture.portfolio.deployments import (
    DeploymentStanding,
    deployable_products,
    deployment_standings,
    end_deployment,
    put_deployment,
)
from posture.portfolio.details import PortfolioDetails
from posture.portfolio.policy import portfolio_policy
from ui.context import read_service, run_service
from ui.plain import escape_markdown, plain_error
from ui.portfolio_form import details_form
from ui.portfolio_transfer import portfolio_transfer
from ui.product_form import labelled_choices
from ui.runtime import sessions

SEARCH_LIMIT = 50
AS_PRODUCT = "as the product declares"


def _use_text(use: ForceUse) -> str:
    adds = []
    if use.classification is not None:
        tier = LABELS[use.classification]
        adds.append(f"{tier} with the SENSITIVE caveat" if use.sensitive_caveat else tier)
    elif use.sensitive_caveat:
        adds.append("the SENSITIVE caveat")
    adds += [LABELS[n] for n in use.police_networks]
    adds += [LABELS[s] for s in use.national_systems]
    if use.records_held is not None:
        adds.append(f"{use.records_held:,} records")
    return ", ".join(adds) or "nothing beyond the product's own facts"


def _row(standing: DeploymentStanding) -> dict[str, Any]:
    details = standing.details
    return {
        "product id": standing.product_id,
        "product": standing.product,
        "version": details.product_version,
        "criticality": portfolio_policy().tier(details.criticality).label
        if details.criticality
        else "not declared",
        "needs": standing.required.profile_id,
        "assessed against": standing.assessed_profile or "not assessed",
        "reaches it": "yes" if standing.reached else "no",
        "our use adds": _use_text(standing.use),
        "internet": "yes" if details.internet_facing else "no",
        "contract ends": details.contract_end,
        "give notice by": details.renewal_notice_on(),
        "owner": details.owner,
        "sub-suppliers": "; ".join(details.sub_suppliers),
        "why": standing.required.explain(),
    }


def _use_form(key: str, current: ForceUse) -> ForceUse | None:
    """The force's use as typed, or None after showing what is wrong with it."""
    tiers: list[str | None] = [None, *(c.value for c in SecurityClassification)]
    classification = st.selectbox(
        "Highest classification of the data we put in it",
        tiers,
        index=tiers.index(current.classification.value if current.classification else None),
        format_func=lambda v: AS_PRODUCT if v is None else LABELS[SecurityClassification(v)],
        key=f"{key}-classification",
    )
    caveat = st.checkbox(
        "Our OFFICIAL data in it carries the SENSITIVE caveat",
        value=current.sensitive_caveat,
        key=f"{key}-caveat",
    )
    networks = labelled_choices("Police networks we connect it to", PoliceNetwork)(
        f"{key}-networks", [n.value for n in current.police_networks]
    )
    systems = labelled_choices("National systems we give it access to", NationalSystem)(
        f"{key}-systems", [n.value for n in current.national_systems]
    )
    records = st.number_input(
        "Records of ours it holds (blank: as the product declares)",
        min_value=0,
        max_value=MAX_RECORDS,
        value=current.records_held,
        step=1,
        key=f"{key}-records",
    )
    try:
        use = ForceUse(
            classification=classification,
            sensitive_caveat=caveat,
            police_networks=networks,
            national_systems=systems,
            records_held=None if records is None else int(records),
        )
        use.caveat_problem()
    except ValidationError as exc:
        st.error(said(exc, located=False))
        return None
    except ValueError as exc:
        st.error(str(exc))
        return None
    return use


def deployments_panel(me: Principal, organisation_id: int) -> None:
    st.subheader("Deployed products")
    standings = read_service(lambda s: deployment_standings(s, me, organisation_id))
    if standings is None:
        return
    if standings:
        st.dataframe(pd.DataFrame([_row(s) for s in standings]), hide_index=True)
        short = [s for s in standings if not s.reached]
        if short:
            st.warning(
                f"{len(short)} deployed product(s) were not assessed against the profile our use "
                "needs. A national assessor can raise the product's profile so its supplier is "
                "assessed against it."
            )
    else:
        st.caption("No product deployed.")
    portfolio_transfer(me, organisation_id)
    if not holds(me, "deployment.manage"):
        return
    names = {s.product_id: s.product for s in standings}
    _deploy(me, organisation_id)
    if names:
        by_id = {s.product_id: s for s in standings}
        chosen = st.selectbox(
            "Deployed product", list(names), format_func=names.__getitem__, key="use-product"
        )
        with st.expander("What our use of it adds, and our record of it"):
            use = _use_form(f"use-{chosen}", by_id[chosen].use)
            details = details_form(f"record-{chosen}", by_id[chosen].details)
            if (
                use is not None
                and details is not None
                and st.button("Save our use and record", key="save-use")
            ):
                run_service(
                    lambda s: put_deployment(
                        s, me, organisation_id, chosen, use, details, must_exist=True
                    ),
                    f"Saved our use and record of {escape_markdown(names[chosen])}.",
                )
        if st.button("End the deployment", key="end"):
            run_service(
                lambda s: end_deployment(s, me, organisation_id, chosen),
                f"Ended the deployment of {escape_markdown(names[chosen])}.",
            )


def _deploy(me: Principal, organisation_id: int) -> None:
    search = st.text_input(
        "Find a listed or accepted product by name", max_chars=100, key="deploy-search"
    )
    try:
        with sessions()() as session:
            found = deployable_products(session, me, organisation_id, search, SEARCH_LIMIT)
    except AssureError as exc:
        plain_error(exc)
        return
    if not found:
        st.caption("No listed or accepted product matches.")
        return
    chosen = st.selectbox(
        "Product to deploy",
        list(found),
        format_func=lambda pid: f"{found[pid]} (product {pid})",
        key="deploy-product",
    )
    use = _use_form("deploy-use", ForceUse())
    with st.expander("Our record of it (version, criticality, contract, owner, sub-suppliers)"):
        details = details_form("deploy-record", PortfolioDetails())
    if use is not None and details is not None and st.button("Deploy", key="deploy"):
        run_service(
            lambda s: put_deployment(s, me, organisation_id, chosen, use, details),
            f"Deployed {escape_markdown(found[chosen])}.",
        )
