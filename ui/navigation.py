"""Which pages each role gets. A page a role may not use is not registered at all; the services
behind every page check the permission table again."""

from __future__ import annotations

import streamlit as st

from posture.identity.permissions import Principal
from posture.storage.models.enums import Role
from ui.pages import assurance, challenges, checks, dashboards, framework, overview, supplier

SUPPLIERS = {Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER}
MANAGERS = {Role.CHALLENGE_MANAGER, Role.PLATFORM_ADMIN}
ASSESSING = {Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER, Role.FORCE_ASSESSOR}
REVIEWERS = {Role.NATIONAL_ASSESSOR}
BUYERS = {Role.PROCUREMENT_OFFICER, Role.FORCE_ASSESSOR}
DASHBOARDS = {Role.FORCE_ASSESSOR, Role.NATIONAL_ASSESSOR, Role.PLATFORM_ADMIN}


def pages_for(principal: Principal) -> dict[str, list[st.Page]]:
    roles = principal.roles()
    general = [
        st.Page(
            overview.render,
            title="Overview",
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            framework.render,
            title="Framework",
            icon=":material/account_tree:",
            url_path="framework",
        ),
    ]
    innovation = [
        st.Page(
            challenges.browse,
            title="Challenges",
            icon=":material/emoji_objects:",
            url_path="challenges",
        )
    ]
    if roles & MANAGERS:
        innovation.append(
            st.Page(
                challenges.manage_page,
                title="Manage challenges",
                icon=":material/tune:",
                url_path="manage-challenges",
            )
        )
    if roles & SUPPLIERS:
        innovation.append(
            st.Page(
                challenges.enter_page,
                title="My challenge entries",
                icon=":material/edit_note:",
                url_path="my-entries",
            )
        )
    if Role.CHALLENGE_JUDGE in roles:
        innovation.append(
            st.Page(
                challenges.judge_page, title="Judging", icon=":material/gavel:", url_path="judging"
            )
        )
    if roles & DASHBOARDS:
        general.append(
            st.Page(
                dashboards.dashboards_page,
                title="Posture dashboards",
                icon=":material/monitoring:",
                url_path="dashboards",
            )
        )
    work: list[st.Page] = []
    if roles & SUPPLIERS:
        work.append(
            st.Page(
                supplier.products_page,
                title="My products",
                icon=":material/inventory_2:",
                url_path="products",
            )
        )
        work.append(
            st.Page(
                checks.checks_page,
                title="Product checks",
                icon=":material/security:",
                url_path="product-checks",
            )
        )
    if roles & ASSESSING:
        work.append(
            st.Page(
                supplier.assessment_page,
                title="Self-assessment",
                icon=":material/checklist:",
                url_path="self-assessment",
            )
        )
    if roles & REVIEWERS:
        work.append(
            st.Page(
                assurance.review_page,
                title="Review queue",
                icon=":material/fact_check:",
                url_path="review-queue",
            )
        )
    work.append(
        st.Page(
            assurance.procurement_page,
            title="Frameworks and listings",
            icon=":material/storefront:",
            url_path="listings",
        )
    )
    if roles & BUYERS:
        work.append(
            st.Page(
                assurance.shortlist_page,
                title="Shortlists",
                icon=":material/format_list_numbered:",
                url_path="shortlists",
            )
        )
    return {"PoliceTech Assure": general, "Work": work, "Innovation": innovation}
