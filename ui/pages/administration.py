"""Administration: people, invitations, organisations and API tokens. Platform administrators
reach every organisation; an organisation's administrators their own. The page only collects
choices: every read and change goes through the services, which check the permissions."""

from __future__ import annotations

import streamlit as st

from posture.identity.permissions import holds
from ui.admin_common import show_secret
from ui.admin_invitations import invitations_tab
from ui.admin_organisations import organisations_tab
from ui.admin_tokens import tokens_tab
from ui.admin_users import users_tab
from ui.context import principal, show_flash


def administration_page() -> None:
    st.title("Administration")
    show_flash()
    me = principal()
    show_secret()
    st.caption(
        "Every change here is recorded in the audit trail."
        if holds(me, "audit.read")
        else "Every change here is recorded in the platform's audit trail."
    )
    # Keyed, so the tab in use stays open when a change reruns the page.
    users, invitations, organisations, tokens = st.tabs(
        ["Users", "Invitations", "Organisations", "API tokens"],
        key="administration-tab",
        on_change="rerun",
    )
    with users:
        users_tab(me)
    with invitations:
        invitations_tab(me)
    with organisations:
        organisations_tab(me)
    with tokens:
        if holds(me, "token.issue"):
            tokens_tab(me)
        else:
            st.caption("Your role does not issue API tokens.")
