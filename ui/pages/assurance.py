"""Procurement frameworks and listings, and buyers' shortlists (the review queue is
ui.pages.review_queue)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.identity.accounts import actor_of
from posture.identity.permissions import holds
from posture.scoring.bands import minimum_band_choices
from supplier_portal.forms import parse_form
from supplier_portal.procurement import lots, shortlists
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.lifecycle import listing_lifecycle
from supplier_portal.procurement.shortlisting_policy import shortlisting_policy
from supplier_portal.procurement.shortlists import ProductInputs, RequirementForm
from supplier_portal.products import list_products
from supplier_portal.vocabulary import CertificationScheme, DataLocation, values
from ui.context import principal, run_service, show_flash
from ui.plain import plain_error
from ui.runtime import sessions


def procurement_page() -> None:
    st.title("Frameworks and listings")
    show_flash()
    me = principal()
    with sessions()() as session:
        frameworks = lots.list_frameworks(session, me)
        all_lots = lots.list_lots(session, me)
        applications = lots.visible_applications(session, me)
        mine = list_products(session, me) if holds(me, "procurement.apply") else []
    officer = holds(me, "procurement.manage")
    if officer:
        with st.form("framework"):
            title = st.text_input("New framework title")
            if st.form_submit_button("Create framework"):
                organisation = sorted(me.organisation_ids())[0]
                run_service(lambda s: lots.create_framework(s, me, organisation, title), "Created.")
        if frameworks:
            with st.form("lot"):
                framework = st.selectbox("Framework", frameworks, format_func=lambda f: f.title)
                key = st.text_input("Lot key (e.g. saas)")
                lot_title = st.text_input("Lot title")
                band = st.selectbox("Minimum posture band", ["none", *minimum_band_choices()])
                certificates = st.multiselect(
                    "Required certifications", values(CertificationScheme)
                )
                pqc = st.number_input("Minimum PQC readiness (0 = none)", 0.0, 100.0, 0.0)
                api = st.number_input("Minimum API score (0 = none)", 0.0, 100.0, 0.0)
                where = st.multiselect("Allowed data locations", values(DataLocation))
                if st.form_submit_button("Add lot"):
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
                    else:
                        run_service(
                            lambda s: lots.add_lot(s, me, framework.id, key, lot_title, gates),
                            "Lot added.",
                        )
        if st.button("Re-check listed products now"):
            run_service(
                lambda s: lots.recheck_listings(s, actor_of(me), date.today()),
                "Listings re-checked.",
            )
    if mine and all_lots:
        with st.form("apply"):
            lot = st.selectbox("Lot", all_lots, format_func=lambda lot_: lot_.title)
            product = st.selectbox("Product", mine, format_func=lambda p: p.name)
            if st.form_submit_button("Apply"):
                run_service(lambda s: lots.apply_product(s, me, lot.id, product.id), "Applied.")
    if applications:
        st.subheader("Applications")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": a.id,
                        "lot": a.lot_id,
                        "product": a.product_id,
                        "status": a.status,
                        "eligible": a.eligible,
                        "failed gates": "; ".join(
                            f"{g['gate']}: {g['reason']}" for g in a.eligibility if not g["passed"]
                        ),
                        "flagged": "; ".join(g["gate"] for g in a.flagged or []),
                    }
                    for a in applications
                ]
            ),
            hide_index=True,
        )
        with st.form("move"):
            chosen = st.selectbox("Application", [a.id for a in applications])
            moves = [state.value for state in listing_lifecycle().destinations()]
            to = st.selectbox("Move to", moves)
            note = st.text_input("Note")
            if st.form_submit_button("Move"):
                run_service(lambda s: lots.transition(s, me, chosen, to, note), "Moved.")


def shortlist_page() -> None:
    st.title("Shortlists")
    show_flash()
    me = principal()
    with sessions()() as session:
        all_lots = lots.list_lots(session, me)
        requirements = shortlists.list_requirements(session, me)
    with st.form("requirement"):
        st.subheader("New requirement")
        title = st.text_input("Title")
        titles = {lot.id: lot.title for lot in all_lots}
        chosen_lots = st.multiselect("Lots", list(titles), format_func=titles.__getitem__)
        weights = {
            key: st.number_input(
                f"Weight: {key.replace('_', ' ')} (%)", 0, 100, value, key=f"w-{key}"
            )
            for key, value in (
                ("security_posture", 40),
                ("pqc_readiness", 10),
                ("api_conformance", 10),
                ("price", 20),
                ("quality", 10),
                ("social_value", 10),
            )
        }
        question = st.text_input("Quality question", "How will you support our control room?")
        if st.form_submit_button("Create requirement"):
            try:
                form = parse_form(
                    RequirementForm,
                    {
                        "title": title,
                        "lot_ids": chosen_lots,
                        "criteria": [{"key": k, "weight": v} for k, v in weights.items() if v],
                        "quality_questions": [{"key": "q1", "text": question}] if question else [],
                    },
                )
            except AssureError as exc:
                plain_error(exc)
            else:
                organisation = sorted(me.organisation_ids())[0]
                run_service(
                    lambda s: shortlists.create_requirement(s, me, organisation, form),
                    "Requirement created.",
                )
    if not requirements:
        return
    requirement = st.selectbox("Requirement", requirements, format_func=lambda r: r.title)
    with sessions()() as session:
        listed = lots.listings(session, me, requirement.lot_ids)
    product_ids = sorted({a.product_id for a in listed})
    if not product_ids:
        st.info("No product is listed on these lots yet.")
        return
    scale = shortlisting_policy().quality_scale
    inputs = {}
    for product_id in product_ids:
        with st.expander(f"Product {product_id}"):
            price = st.number_input("Price (£)", 1.0, 1e9, 1000.0, key=f"p-{product_id}")
            quality = st.selectbox(
                "Quality answer",
                list(scale),
                format_func=lambda k: f"{k}: {scale[k]}",
                key=f"q-{product_id}",
            )
            social = st.number_input(
                "Social value (0-100)", 0.0, 100.0, 50.0, key=f"s-{product_id}"
            )
            inputs[product_id] = ProductInputs(
                price=price, quality={"q1": quality}, social_value=social
            )
    if st.button("Rank and save a version"):

        def save(session):  # type: ignore[no-untyped-def]
            version = shortlists.save_shortlist(session, me, requirement.id, inputs, date.today())
            st.session_state["shortlist_version"] = version.id
            return version

        run_service(save, "Shortlist saved.")
    version_id = st.session_state.get("shortlist_version")
    if version_id:
        with sessions()() as session:
            frame = shortlists.export_frame(session, me, version_id)
            csv_text = shortlists.export_csv(session, me, version_id)
            xlsx = shortlists.export_xlsx(session, me, version_id)
        st.dataframe(frame, hide_index=True)
        st.download_button("Download CSV", csv_text, file_name="shortlist.csv", mime="text/csv")
        with sessions()() as session:
            names = shortlists.ranked_products(session, me, version_id)
        picked = st.multiselect(
            "Compare side by side (2 to 5)",
            list(names),
            format_func=names.__getitem__,
            max_selections=5,
        )
        if len(picked) >= 2:
            with sessions()() as session:
                st.dataframe(shortlists.compare(session, me, version_id, picked))
        st.download_button(
            "Download XLSX",
            xlsx,
            file_name="shortlist.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
