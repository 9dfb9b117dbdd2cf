"""The audit trail, newest first, for the roles that may read it."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from posture.audit_log import recent_events
from posture.audit_personal import shown_actor, shown_data
from ui.context import principal, uk_time
from ui.runtime import sessions

SHOWN = 200


def audit_page() -> None:
    st.title("Audit trail")
    me = principal()
    limit = st.number_input("Newest events to show", min_value=1, max_value=5000, value=SHOWN)
    with sessions()() as session:
        events = recent_events(session, me, int(limit))
    if not events:
        st.info("Nothing has been recorded yet.")
        return
    # Reading the trail here proves nothing about it; the hash chain is checked on the host.
    st.caption("To prove no event was changed or removed, run `assure audit verify` on the host.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": event.id,
                    "when": uk_time(event.occurred_at),
                    "actor": shown_actor(event.actor_label, event.personal),
                    "action": event.action,
                    "object": f"{event.object_type} {event.object_id}",
                    "organisation": event.organisation_id,
                    "data": json.dumps(
                        shown_data(event.data, event.personal),
                        sort_keys=True,
                        ensure_ascii=False,
                    ),
                }
                for event in events
            ]
        ),
        hide_index=True,
    )
