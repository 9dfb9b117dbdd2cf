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


def uk_date(moment) -> str:  # type: ignore[no-untyped-def]
    """The UK day a stored UTC moment falls on (a due date is a day, not an hour)."""
    return moment.astimezone(UK).strftime("%d %b %Y")


FLASH_KEY = "assure_flash"
GENERATIONS_KEY = "assure_widget_generations"
Result = TypeVar("Result")


def widget_key(base: str, *scope: object) -> str:
    """The key of a form widget named `base`, for the record it is about (`scope`): picking
    another record gives an empty widget, and so does each success of run_service(clear=base),
    which moves `base` on to a new generation. Popping a widget's key does not empty it: the
    browser sends its last value back on the next run."""
    generation = st.session_state.get(GENERATIONS_KEY, {}).get(base, 0)
    return "-".join([base, *(str(part) for part in scope), str(generation)])


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


def run_service(action, success: str, clear: tuple[str, ...] = (), keep=None):  # type: ignore[no-untyped-def]
    """Run one service call in one transaction. On success, empty the widgets named in `clear`
    (keyed by the name, or by widget_key(name, ...)): a form left filled in is one click from
    recording the same thing twice. Then rerun the page so
    it shows the new state, carrying the message across; on refusal, keep what was typed and
    show why (never a traceback). `success` is Markdown: user text in it goes through
    `ui.plain.escape_markdown`. `keep(result)`, called once the transaction has committed,
    puts what the next run must show (a one-time secret) into the session state."""
    from kernel.errors import AssureError
    from posture.storage.engine import transaction
    from ui.runtime import sessions

    try:
        with transaction(sessions()) as session:
            result = action(session)
    except AssureError as exc:
        plain_error(exc)
        return None
    if keep is not None:
        keep(result)
    generations = dict(st.session_state.get(GENERATIONS_KEY, {}))
    for base in clear:
        # A widget keyed `base` itself (outside a form) empties when its key is dropped; one
        # keyed by widget_key(base, ...) empties by moving to the next generation.
        st.session_state.pop(base, None)
        generations[base] = generations.get(base, 0) + 1
    st.session_state[GENERATIONS_KEY] = generations
    st.session_state[FLASH_KEY] = success
    st.rerun()
    return result


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)
