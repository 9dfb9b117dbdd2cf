"""The web server `assure serve` runs: the Streamlit app (streamlit_app.py) with the route that
sets the session cookie beside it (ui/session_cookie.py)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.session_cookie import routes

app = st.App(str(Path(__file__).with_name("streamlit_app.py")), routes=routes())
