"""Scheduled work for those who run the platform: each schedule's last run and outcome, its next
run, and running one now on a worker."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.storage.models.enums import ScheduleRunStatus
from supplier_portal.automation import run_on_worker, schedule_book, schedules_seen_by
from ui.context import principal, read_service, show_flash, uk_time
from ui.plain import escape_markdown, plain_error
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
    st.caption(
        f"Schedules from {book.source}, run by the workers. Last and next runs are in UK time; "
        "the cron column is in UTC."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Schedule": row.name,
                    "Outcome": "" if row.last is None else OUTCOME_WORDS[row.last.status],
                    "Last run": "never" if row.last is None else uk_time(row.last.started_at),
                    "Next run": uk_time(row.next_run) if row.next_run else "not within 35 days",
                    "When (cron, UTC)": row.cron,
                    "What it does": row.description,
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
                heading = f"{row.name} ({row.last.period}, {row.last.trigger})"
                st.markdown(f"**{escape_markdown(heading)}**")
                st.text("\n".join(summary_lines(row.last.summary)) or "nothing to report")
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
            "or is running; press Show the latest outcomes to see how it went."
        )
    st.button("Show the latest outcomes")


def summary_lines(summary: object, indent: str = "") -> list[str]:
    """A run's summary in words, one fact a line: keys with spaces, lists by their length."""
    if not isinstance(summary, dict):
        return [f"{indent}{summary}"]
    lines = []
    for key, value in sorted(summary.items()):
        label = f"{indent}{str(key).replace('_', ' ')}"
        if isinstance(value, dict):
            lines += [f"{label}:", *summary_lines(value, indent + "  ")]
        elif isinstance(value, list):
            lines.append(f"{label}: {len(value)}")
        else:
            lines.append(f"{label}: {value}")
    return lines
