"""Supplier pages: products (register, edit, withdraw, prove post-quantum signing). The
self-assessment is ui/pages/self_assessment.py."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.identity.permissions import allowed, holds
from supplier_portal import products
from supplier_portal.forms import parse_form
from ui.context import principal, run_service, show_flash
from ui.plain import escape_markdown, plain_error
from ui.pq_proof import pq_proof_section
from ui.product_changes import edit_section, withdraw_section
from ui.product_form import product_form
from ui.runtime import sessions


def _profile(me) -> None:  # type: ignore[no-untyped-def]
    from supplier_portal.organisations import ProfileForm, get_profile, update_profile

    organisation_id = sorted(me.organisation_ids())[0]
    with sessions()() as session:
        organisation = get_profile(session, me, organisation_id)
    with st.expander(f"Organisation profile: {escape_markdown(organisation.name)}"):
        if not allowed(me, "organisation.manage", organisation_id):
            # Shown, not offered for editing: the role may read the profile but not change it.
            st.text(f"About us: {organisation.description or 'not given'}")
            st.text(f"Website: {organisation.website or 'not given'}")
            st.text(f"Security contact email: {organisation.security_contact or 'not given'}")
            st.caption("Your organisation's supplier admin can change the profile.")
            return
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
