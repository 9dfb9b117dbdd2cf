"""The session cookie's handover, as an invisible Streamlit component: the browser redeems the
page's one-time code at the app's own /auth/session, whose answer sets the HttpOnly cookie
(ui/session_cookie.py). Without scripts the person is still signed in; a refresh signs them out,
as before."""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent / "session_cookie_frontend"


def hand_over_cookie(code: str) -> None:
    """Hand `code` to the browser, which redeems it; it answers nothing, so the page does not
    rerun (the server knows when the code is spent)."""
    # Declared on each use: the registry belongs to the running Streamlit runtime.
    component = components.declare_component("session_cookie", path=str(FRONTEND))
    component(code=code, key="session-cookie", default=None)
