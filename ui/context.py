"""Per-run context for pages: the signed-in principal, set once by the entry script."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from posture.identity.permissions import Principal

PRINCIPAL_KEY = "assure_principal"
UK = ZoneInfo("Europe/London")


def principal() -> Principal:
    found = st.session_state.get(PRINCIPAL_KEY)
    if not isinstance(found, Principal):
        st.error("Your session has ended; sign in again.")
        st.stop()
    return found


def uk_time(moment) -> str:  # type: ignore[no-untyped-def]
    """Times are stored in UTC and shown in UK time."""
    return moment.astimezone(UK).strftime("%d %b %Y %H:%M %Z")
