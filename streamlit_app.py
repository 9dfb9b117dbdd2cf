"""PoliceTech Assure: the Streamlit entry point. Navigation only; pages live in ui/pages."""

from __future__ import annotations

import streamlit as st

from posture.errors import AssureError
from ui.pages import framework, overview

st.set_page_config(page_title="PoliceTech Assure", page_icon=":shield:", layout="wide")


def main() -> None:
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
    try:
        st.navigation(pages).run()
    except AssureError as exc:
        st.error(str(exc))


main()
