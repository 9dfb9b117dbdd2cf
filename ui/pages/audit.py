"""The audit trail for the roles that may read it: searched by action, actor, subject and UK
days, newest first, a page at a time; and the hash chain verified on demand."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from posture.audit_log import (
    EventPage,
    EventSearch,
    chain_in_words,
    event_search,
    search_events,
    trail_vocabulary,
    verify_trail,
)
from posture.audit_personal import shown_actor, shown_data
from ui.context import principal, read_service, uk_time
from ui.plain import plain_error

PAGE_SIZE = 50
ANY = ""


def audit_page() -> None:
    st.title("Audit trail")
    me = principal()
    _verify(me)
    vocabulary = read_service(lambda s: trail_vocabulary(s, me))
    if vocabulary is None:
        return
    search = _search(vocabulary.actions, vocabulary.object_types)
    if search is None:
        return
    found = read_service(lambda s: search_events(s, me, search))
    if found is None:
        return
    if not found.events:
        st.info(
            "This page is past the last: go back a page." if found.total else "No event matches."
        )
        return
    first = search.offset + 1
    st.caption(
        f"{found.total} events match; showing {first} to {search.offset + len(found.events)}, "
        "newest first."
    )
    st.dataframe(_table(found), hide_index=True, use_container_width=True)


def _verify(me) -> None:  # type: ignore[no-untyped-def]
    st.caption(
        "Each event is chained to the one before by its hash, so a changed, removed or "
        "reordered event shows. Verifying here reads the whole chain; `assure audit verify` on "
        "the host also checks it against the signed checkpoints, which show a trail rewritten "
        "from start to end."
    )
    if not st.button("Verify the chain"):
        return
    with st.spinner("Verifying every event..."):
        report = read_service(lambda s: verify_trail(s, me))
    if report is None:
        return
    if report.intact:
        st.success(chain_in_words(report))
    else:
        st.error(chain_in_words(report))


def _search(actions: list[str], object_types: list[str]) -> EventSearch | None:
    action_col, actor_col = st.columns(2)
    action = action_col.selectbox(
        "Action", [ANY, *actions], format_func=lambda a: a or "Any action", key="audit-action"
    )
    actor = actor_col.text_input(
        "Who (part of a name or address, or cli, worker, system)", max_chars=254, key="audit-actor"
    )
    type_col, id_col = st.columns(2)
    object_type = type_col.selectbox(
        "Subject", [ANY, *object_types], format_func=lambda t: t or "Any subject", key="audit-type"
    )
    object_id = id_col.text_input("Subject's id", max_chars=64, key="audit-object-id")
    since_col, until_col, size_col, page_col = st.columns(4)
    since = since_col.date_input(
        "From (UK day)", value=None, format="DD/MM/YYYY", key="audit-since"
    )
    until = until_col.date_input("To (UK day)", value=None, format="DD/MM/YYYY", key="audit-until")
    size = size_col.number_input(
        "Events per page", min_value=1, max_value=500, value=PAGE_SIZE, key="audit-size"
    )
    page = page_col.number_input("Page", min_value=1, value=1, step=1, key="audit-page")
    try:
        return event_search(
            action=action or "",
            actor=actor,
            object_type=object_type or "",
            object_id=object_id,
            since=since,
            until=until,
            limit=int(size),
            offset=(int(page) - 1) * int(size),
        )
    except AssureError as exc:
        plain_error(exc)
        return None


def _table(found: EventPage) -> pd.DataFrame:
    events = found.events
    return pd.DataFrame(
        {
            "Event": [event.id for event in events],
            "When": [uk_time(event.occurred_at) for event in events],
            "Who": [shown_actor(event.actor_label, event.personal) for event in events],
            "Action": [event.action for event in events],
            "Subject": [f"{event.object_type} {event.object_id}" for event in events],
            "Organisation": [
                found.organisation_names.get(event.organisation_id, "")
                if event.organisation_id is not None
                else ""
                for event in events
            ],
            "Details": [
                json.dumps(
                    shown_data(event.data, event.personal), sort_keys=True, ensure_ascii=False
                )
                for event in events
            ],
        }
    )
