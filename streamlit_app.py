"""PoliceTech Assure: the Streamlit entry point. Navigation only; pages live in ui/pages."""

from __future__ import annotations

import streamlit as st

from posture.errors import AssureError
from ui import auth
from ui.pages import framework, overview

st.set_page_config(page_title="PoliceTech Assure", page_icon=":shield:", layout="wide")


def main() -> None:
    if auth.needs_setup():
        st.navigation([st.Page(auth.setup_page, title="Set up", url_path="setup")]).run()
        return
    principal = auth.current_principal()
    if principal is None:
        st.navigation([st.Page(auth.login_page, title="Sign in", url_path="sign-in")]).run()
        return
    with st.sidebar:
        st.caption(f"Signed in as {principal.email}")
        st.button("Sign out", on_click=auth.sign_out)
    pages = [
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
    st.navigation(pages).run()


try:
    main()
except AssureError as exc:
    st.error(str(exc))
