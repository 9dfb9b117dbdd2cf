"""Procurement frameworks and listings, and buyers' shortlists (the review queue is
ui.pages.review_queue; saved shortlist versions are drawn by ui.shortlist_versions).

Every form is keyed by widget_key and emptied by run_service(clear=...) after it succeeds: a
second lot must not inherit the first lot's data locations unseen."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.identity.accounts import actor_of
from posture.identity.permissions import holds
from posture.scoring.bands import minimum_band_choices
from supplier_portal.forms import parse_form
from supplier_portal.procurement import listing_views, lots, shortlist_versions, shortlists
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.listing_views import ApplicationView, LotChoice, state_words
from supplier_portal.procurement.shortlisting_policy import Criterion, shortlisting_policy
from supplier_portal.procurement.shortlists import ProductInputs, RequirementForm, VersionWeights
from supplier_portal.products import list_products
from supplier_portal.vocabulary import CertificationScheme, DataLocation, values
from ui.context import principal, run_service, show_flash, uk_time, widget_key
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions
from ui.shortlist_versions import saved_versions_section

REQUIREMENT_OPEN = "shortlist-requirement-open"  # the requirement to show (not a widget's key)
# The weights a new requirement starts from (the buyer changes them before creating it).
DEFAULT_WEIGHTS = {
    Criterion.SECURITY_POSTURE: 40,
    Criterion.PQC_READINESS: 10,
    Criterion.API_CONFORMANCE: 10,
    Criterion.PRICE: 20,
    Criterion.QUALITY: 10,
    Criterion.SOCIAL_VALUE: 10,
}


def procurement_page() -> None:
    st.title("Frameworks and listings")
    show_flash()
    me = principal()
    with sessions()() as session:
        frameworks = lots.list_frameworks(session, me)
        lot_list = listing_views.lot_choices(session, me)
        applications = listing_views.application_views(session, me)
        mine = list_products(session, me) if holds(me, "procurement.apply") else []
    if holds(me, "procurement.manage"):
        with st.form("framework"):
            title = st.text_input("New framework title", key=widget_key("framework", "title"))
            if st.form_submit_button("Create framework"):
                organisation = sorted(me.organisation_ids())[0]
                run_service(
                    lambda s: lots.create_framework(s, me, organisation, title),
                    f"Framework created: {escape_markdown(title.strip())}.",
                    clear=("framework",),
                )
        if frameworks:
            _lot_form(me, frameworks)
        if st.button("Re-check listed products now"):
            run_service(
                lambda s: lots.recheck_listings(s, actor_of(me), date.today()),
                "Listings re-checked.",
            )
    if mine and lot_list:
        _apply_form(me, lot_list, mine)
    if applications:
        _applications(me, applications)


def _lot_form(me, frameworks) -> None:  # type: ignore[no-untyped-def]
    def key(field: str) -> str:
        return widget_key("lot", field)

    with st.form("lot"):
        framework = st.selectbox(
            "Framework", frameworks, format_func=lambda f: f.title, key=key("framework")
        )
        code = st.text_input("Lot key (e.g. saas)", key=key("code"))
        lot_title = st.text_input("Lot title", key=key("title"))
        band = st.selectbox(
            "Minimum posture band", ["none", *minimum_band_choices()], key=key("band")
        )
        certificates = st.multiselect(
            "Required certifications", values(CertificationScheme), key=key("certificates")
        )
        pqc = st.number_input("Minimum PQC readiness (0 = none)", 0.0, 100.0, 0.0, key=key("pqc"))
        api = st.number_input("Minimum API score (0 = none)", 0.0, 100.0, 0.0, key=key("api"))
        where = st.multiselect("Allowed data locations", values(DataLocation), key=key("where"))
        if not st.form_submit_button("Add lot"):
            return
    try:
        gates = parse_form(
            Gates,
            {
                "min_posture_band": None if band == "none" else band,
                "required_certifications": certificates,
                "min_pqc_readiness": pqc or None,
                "min_api_score": api or None,
                "allowed_data_locations": where,
            },
        )
    except AssureError as exc:
        plain_error(exc)
        return
    run_service(
        lambda s: lots.add_lot(s, me, framework.id, code, lot_title, gates),
        f"Lot added: {escape_markdown(lot_title)}, on {escape_markdown(framework.title)}.",
        clear=("lot",),
    )


def _apply_form(me, lot_list: list[LotChoice], mine) -> None:  # type: ignore[no-untyped-def]
    with st.form("apply"):
        lot = st.selectbox(
            "Lot", lot_list, format_func=lambda c: c.label, key=widget_key("apply", "lot")
        )
        product = st.selectbox(
            "Product", mine, format_func=lambda p: p.name, key=widget_key("apply", "product")
        )
        if st.form_submit_button("Apply"):
            run_service(
                lambda s: lots.apply_product(s, me, lot.id, product.id),
                f"Applied: {escape_markdown(product.name)} to {escape_markdown(lot.label)}.",
                clear=("apply",),
            )


def _applications(me, applications: list[ApplicationView]) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Applications")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Product": a.product,
                    "Supplier": a.supplier,
                    "Lot": a.lot,
                    "Status": state_words(a.status),
                    "Eligible": "yes" if a.eligible else "no",
                    "Failed gates": a.failed_gates,
                    "Flagged": a.flagged,
                    "Applied": uk_time(a.applied_at),
                }
                for a in applications
            ]
        ),
        hide_index=True,
    )
    movable = [a for a in applications if a.moves]
    if not movable:
        return
    st.subheader("Move an application")
    # Not a form: the moves offered depend on the application chosen.
    chosen = st.selectbox("Application", movable, format_func=lambda a: a.label, key="move-which")
    to = st.selectbox(
        "Move to", list(chosen.moves), format_func=state_words, key=widget_key("move-to", chosen.id)
    )
    note = st.text_input("Note", key=widget_key("move-note", chosen.id))
    if st.button("Move"):
        run_service(
            lambda s: lots.transition(s, me, chosen.id, to, note),
            f"Moved {escape_markdown(chosen.product)} on {escape_markdown(chosen.lot)} to "
            f"{state_words(to)}.",
            clear=("move-to", "move-note"),
        )


def shortlist_page() -> None:
    st.title("Shortlists")
    show_flash()
    me = principal()
    with sessions()() as session:
        lot_list = listing_views.lot_choices(session, me)
        requirements = shortlists.list_requirements(session, me)
    _requirement_form(me, lot_list)
    if not requirements:
        return
    st.subheader("Rank a requirement")
    ids = [r.id for r in requirements]
    wanted = st.session_state.get(REQUIREMENT_OPEN, ids[0])
    requirement = st.selectbox(
        "Requirement",
        requirements,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda r: r.title,
        key=widget_key("shortlist-requirement"),
    )
    lot_names = {c.id: c.label for c in lot_list}
    st.caption(
        "Lots: "
        + escape_markdown(", ".join(lot_names.get(i, "a removed lot") for i in requirement.lot_ids))
    )
    with sessions()() as session:
        products = listing_views.listed_products(session, me, requirement.lot_ids)
        versions = shortlist_versions.list_versions(session, me, requirement.id)
        if versions:
            inputs, weights = shortlist_versions.version_inputs(session, me, versions[0].id)
        else:
            inputs = {}
            weights = {c["key"]: c["weight"] for c in shortlists.requirement_weights(requirement)}
    if not products:
        st.info("No product is listed on these lots yet.")
    else:
        _rank_form(me, requirement, products, inputs, weights, len(versions) + 1)
    if versions:
        saved_versions_section(me, requirement, versions)


def _requirement_form(me, lot_list: list[LotChoice]) -> None:  # type: ignore[no-untyped-def]
    def key(field: str) -> str:
        return widget_key("requirement", field)

    with st.form("requirement"):
        st.subheader("New requirement")
        title = st.text_input("Title", key=key("title"))
        labels = {c.id: c.label for c in lot_list}
        chosen_lots = st.multiselect(
            "Lots", list(labels), format_func=labels.__getitem__, key=key("lots")
        )
        weights = {
            criterion: st.number_input(
                f"Weight: {criterion.label} (%)", 0, 100, value, key=key(criterion.value)
            )
            for criterion, value in DEFAULT_WEIGHTS.items()
        }
        question = st.text_input(
            "Quality question", "How will you support our control room?", key=key("question")
        )
        if not st.form_submit_button("Create requirement"):
            return
    try:
        form = parse_form(
            RequirementForm,
            {
                "title": title,
                "lot_ids": chosen_lots,
                "criteria": [{"key": k.value, "weight": v} for k, v in weights.items() if v],
                "quality_questions": [{"key": "q1", "text": question}] if question else [],
            },
        )
    except AssureError as exc:
        plain_error(exc)
        return
    organisation = sorted(me.organisation_ids())[0]

    def create(session):  # type: ignore[no-untyped-def]
        requirement = shortlists.create_requirement(session, me, organisation, form)
        st.session_state[REQUIREMENT_OPEN] = requirement.id  # shown next, ready to rank
        return requirement

    run_service(
        create,
        f"Requirement created: {escape_markdown(form.title)}.",
        clear=("requirement", "shortlist-requirement"),
    )


def _rank_form(  # type: ignore[no-untyped-def]
    me,
    requirement,
    products: dict[int, tuple[str, str]],
    previous: dict[int, ProductInputs],
    weights: dict[str, int],
    next_version: int,
) -> None:
    """The buyer's inputs for the next version, starting from the last version saved."""
    scale = shortlisting_policy().quality_scale
    questions = shortlists.quality_questions(requirement)

    def key(*scope: object) -> str:
        return widget_key("shortlist-input", requirement.id, *scope)

    with st.form(f"rank-{requirement.id}"):
        st.markdown(f"**Version {next_version}: weights** (they must total 100%)")
        columns = st.columns(3)
        chosen = {
            criterion: columns[index % 3].number_input(
                f"{criterion.heading} (%)",
                0,
                100,
                int(weights.get(criterion.value, 0)),
                key=key("weight", criterion.value),
            )
            for index, criterion in enumerate(Criterion)
        }
        inputs = {}
        for product_id, (name, supplier) in products.items():
            given = previous.get(product_id)
            with st.expander(f"{escape_markdown(name)} ({escape_markdown(supplier)})"):
                price = st.number_input(
                    "Price (£)", 1.0, 1e9, given.price if given else 1000.0, key=key(product_id)
                )
                answers = {
                    q["key"]: st.selectbox(
                        f"Quality: {escape_markdown(q['text'])}",
                        list(scale),
                        index=list(scale).index(given.quality.get(q["key"], 0)) if given else 0,
                        format_func=lambda k: f"{k}: {scale[k]}",
                        key=key(product_id, "q", q["key"]),
                    )
                    for q in questions
                }
                social = st.number_input(
                    "Social value (0-100)",
                    0.0,
                    100.0,
                    given.social_value if given else 50.0,
                    key=key(product_id, "s"),
                )
            inputs[product_id] = ProductInputs(price=price, quality=answers, social_value=social)
        if not st.form_submit_button("Rank and save a version"):
            return
    try:
        version_weights = parse_form(
            VersionWeights,
            {"criteria": [{"key": k.value, "weight": v} for k, v in chosen.items() if v]},
        )
    except AssureError as exc:
        plain_error(exc)
        return
    run_service(
        lambda s: shortlists.save_shortlist(
            s, me, requirement.id, inputs, date.today(), version_weights
        ),
        # The number is the service's to give (another buyer may save first): the newest
        # version opens below with its number.
        f"Shortlist saved: a new version of {escape_markdown(requirement.title)}.",
        clear=("shortlist-input", "shortlist-open", "shortlist-before", "shortlist-after"),
    )
