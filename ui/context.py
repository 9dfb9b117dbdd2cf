"""Per-run context for pages: the signed-in principal, set once by the entry script."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import streamlit as st

from posture.identity.permissions import Principal
from ui.plain import plain_error

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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


FLASH_KEY = "assure_flash"
Result = TypeVar("Result")


def read_service(action: Callable[[Session], Result]) -> Result | None:
    """Run one reading service call in its own session; None after showing a refusal (never a
    traceback). For services that never return None themselves."""
    from kernel.errors import AssureError
    from ui.runtime import sessions

    try:
        with sessions()() as session:
            return action(session)
    except AssureError as exc:
        plain_error(exc)
        return None


def run_service(action, success: str, clear: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """Run one service call in one transaction. On success, empty the widgets keyed `clear` (a
    form left filled in is one click from recording the same thing twice) and rerun the page so
    it shows the new state, carrying the message across; on refusal, keep what was typed and
    show why (never a traceback). `success` is Markdown: user text in it goes through
    `ui.plain.escape_markdown`."""
    from kernel.errors import AssureError
    from posture.storage.engine import transaction
    from ui.runtime import sessions

    try:
        with transaction(sessions()) as session:
            result = action(session)
    except AssureError as exc:
        plain_error(exc)
        return None
    for key in clear:
        st.session_state.pop(key, None)
    st.session_state[FLASH_KEY] = success
    st.rerun()
    return result


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)
