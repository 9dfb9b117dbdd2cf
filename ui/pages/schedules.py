"""Scheduled work for those who run the platform: each schedule's last run and outcome, its next
run, and running one now on a worker."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.storage.models.enums import ScheduleRunStatus
from supplier_portal.automation import run_on_worker, schedule_book, schedules_seen_by
from ui.context import principal, read_service, show_flash, uk_time
from ui.plain import plain_error
from ui.runtime import job_queue

OUTCOME_WORDS = {status: status.value.capitalize() for status in ScheduleRunStatus}


def schedules_page() -> None:
    st.title("Schedules")
    show_flash()
    me = principal()
    try:
        book = schedule_book(load_settings())
    except AssureError as exc:
        plain_error(exc)
        return
    overview = read_service(lambda session: schedules_seen_by(session, me, book, utcnow()))
    if overview is None:
        return
    st.caption(f"Schedules from {book.source}; times in UK time. Workers run them.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Schedule": row.name,
                    "What it does": row.description,
                    "When (cron, UTC)": row.cron,
                    "Last run": "never" if row.last is None else uk_time(row.last.started_at),
                    "Outcome": "" if row.last is None else OUTCOME_WORDS[row.last.status],
                    "Next run": uk_time(row.next_run) if row.next_run else "not within 35 days",
                }
                for row in overview
            ]
        ),
        hide_index=True,
        use_container_width=True,
    )
    failed = [row for row in overview if row.last and row.last.status is ScheduleRunStatus.FAILED]
    for row in failed:
        assert row.last is not None
        st.error(f"{row.name} failed for {row.last.period}: {row.last.error or 'no reason given'}")
    with st.expander("What each last run did", expanded=False):
        for row in overview:
            if row.last is not None:
                st.text(f"{row.name} ({row.last.period}, {row.last.trigger})")
                st.code(json.dumps(row.last.summary, indent=2, sort_keys=True), language="json")
    with st.form("run-schedule"):
        name = st.selectbox("Run a schedule now", [row.name for row in overview])
        run = st.form_submit_button("Run on a worker")
    if run and name:
        try:
            run_on_worker(job_queue(), me, book, name)
        except AssureError as exc:
            plain_error(exc)
            return
        st.success(
            f"{name} is queued for a worker. It runs unless this period's run has succeeded "
            "or is running; reload to see its outcome."
        )
