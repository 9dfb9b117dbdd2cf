"""Which pages each role gets. A page a role may not use is not registered at all; the services
behind every page check the permission table again."""

from __future__ import annotations

import streamlit as st

from posture.identity.permissions import Principal
from posture.storage.models.enums import Role
from ui.pages import challenges, framework, overview

SUPPLIERS = {Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER}
MANAGERS = {Role.CHALLENGE_MANAGER, Role.PLATFORM_ADMIN}


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
    return {"PoliceTech Assure": general, "Innovation": innovation}
