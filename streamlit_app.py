"""PoliceTech Assure: the Streamlit entry point. Sign-in, then navigation by role (ui/navigation);
pages live in ui/pages and call services."""

from __future__ import annotations

import streamlit as st

from kernel.errors import AssureError
from ui import auth
from ui.account import account_page
from ui.context import PRINCIPAL_KEY
from ui.navigation import ACCOUNT_PATH, every_url_path, pages_for
from ui.plain import plain, plain_error

st.set_page_config(page_title="PoliceTech Assure", page_icon=":shield:", layout="wide")


def main() -> None:
    if auth.needs_setup():
        st.navigation([st.Page(auth.setup_page, title="Set up", url_path="setup")]).run()
        return
    principal = auth.current_principal()
    if principal is None:
        st.session_state.pop(PRINCIPAL_KEY, None)
        # Every page's address signs in where it is, so a deep link (a bookmark, a link in an
        # e-mail) opens its page once signed in instead of "Page not found".
        sign_in = [st.Page(auth.login_page, title="Sign in", url_path="sign-in", default=True)]
        sign_in += [
            st.Page(auth.login_page, title="Sign in", url_path=path) for path in every_url_path()
        ]
        st.navigation(sign_in, position="hidden").run()
        return
    st.session_state[PRINCIPAL_KEY] = principal
    with st.sidebar:
        plain(f"Signed in as {principal.email}")
        st.button("Sign out", on_click=auth.sign_out)
        auth.hand_over_session()
    account = st.Page(
        account_page, title="Account security", url_path=ACCOUNT_PATH, icon=":material/key:"
    )
    pages = pages_for(principal)
    pages.setdefault("Account", []).append(account)
    # Every page listed: folded after ten, a platform admin's Account security went out of sight.
    st.navigation(pages, expanded=True).run()


try:
    main()
except AssureError as exc:
    plain_error(str(exc))
