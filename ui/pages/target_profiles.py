"""An assessor sees why each product must meet its target profile, and may raise it (never
lower it) with a reason. Suppliers see their own product's target on the Self-assessment page."""

from __future__ import annotations

import streamlit as st

from frameworks.catalogue_view import catalogue_id_of
from kernel.errors import AssureError
from posture.assessment_frameworks import framework_named
from posture.target_profiles import supplier_rules
from supplier_portal import assessments
from supplier_portal.forms import parse_form
from supplier_portal.products import products_query
from supplier_portal.profile_raises import RaiseForm, raise_profile
from ui.context import principal, run_service, show_flash
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions


def target_profiles_page() -> None:
    st.title("Target profiles")
    show_flash()
    me = principal()
    search = st.text_input("Product name contains", max_chars=100)
    with sessions()() as session:
        found = list(session.scalars(products_query(me, search=search).limit(50)))
        choices = {f"{p.name} (product {p.id})": (p.id, p.organisation_id) for p in found}
    if not choices:
        st.info("No product matches.")
        return
    label = st.selectbox("Product", list(choices))
    product_id, organisation_id = choices[label]
    loaded = framework_named(None)
    try:
        with sessions()() as session:
            target = assessments.supplier_target(session, me, organisation_id, product_id)
    except AssureError as exc:
        plain_error(exc)
        return
    st.markdown(f"**Must meet:** {escape_markdown(target.explain())}")
    st.caption(
        f"Derived by the proportionality rules of {loaded.framework.title} "
        f"{loaded.framework.version} from the product's facts."
    )
    order = supplier_rules(loaded).order
    higher = order[order.index(target.profile_id) + 1 :]
    if not higher:
        st.caption("This is already the most demanding supplier profile.")
        return
    with st.form("raise"):
        profile = st.selectbox("Raise to", higher)
        reason = st.text_area("Reason (kept in the audit trail)", max_chars=2000)
        if st.form_submit_button("Raise the profile"):
            try:
                form = parse_form(
                    RaiseForm,
                    {
                        "framework": catalogue_id_of(loaded.framework),
                        "profile_id": profile,
                        "reason": reason.strip(),
                    },
                )
            except AssureError as exc:
                plain_error(exc)
                return
            run_service(
                lambda s: raise_profile(s, me, product_id, form),
                f"Raised to {profile}; its assessments are re-targeted.",
            )
