"""Queue checks for a product, watch them run, and see the results that count as its evidence.

Checks run in the background worker, so a slow endpoint never holds up the page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from checks.catalogue import InputKind, spec_for, specs
from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.check_requests import CheckRequest, file_fields
from posture.jobs.checks import list_product_jobs
from posture.jobs.dispatch import submit_check
from posture.monitoring.endpoints import (
    EndpointForm,
    monitored_kinds,
    product_monitoring,
    register_endpoint,
)
from posture.storage.models import CheckRun
from posture.storage.models.enums import RunStatus
from supplier_portal.check_exports import attestation_bundle, run_files, signing_keys
from supplier_portal.check_results import get_check_run, list_check_runs
from supplier_portal.forms import parse_form
from supplier_portal.products import list_products
from ui.alerts import alerts_panel
from ui.context import FLASH_KEY, principal, run_service, show_flash, uk_time
from ui.plain import escape_markdown, plain_error
from ui.runtime import job_queue, sessions

WATCHED_KEY = "assure_watched_jobs"


def check_choices() -> dict[str, str]:
    """The checks a person can run, by kind, with the label the picker shows: the catalogue's."""
    return {spec.kind: spec.label for spec in specs()}


def _request(kind: str, target: str, upload, base_url: str) -> CheckRequest:  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {"kind": kind, "target": target, "base_url": base_url}
    if upload is not None:
        fields |= file_fields(upload.name, upload.getvalue())
    return parse_form(CheckRequest, fields)


@st.fragment(run_every=2)
def _jobs(product_id: int) -> None:
    """Re-drawn every two seconds on its own, so progress shows without reloading the page."""
    with sessions()() as session:
        jobs = list_product_jobs(session, principal(), product_id)
    if not jobs:
        return
    active = {j.id for j in jobs if j.status in (RunStatus.QUEUED, RunStatus.RUNNING)}
    watched = st.session_state.get(WATCHED_KEY, set())
    st.session_state[WATCHED_KEY] = active
    if watched - active:
        # A job this page was watching has finished: redraw the whole page so its results show.
        st.rerun(scope="app")
    st.subheader("Check jobs")
    for job in jobs[:3]:
        if job.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            said = escape_markdown(job.message)
            st.progress(job.progress, text=f"Job {job.id}: {job.status} - {said}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "job": j.id,
                    "check": j.payload.get("request", {}).get("kind", ""),
                    "status": str(j.status),
                    "progress": round(j.progress * 100),
                    "message": j.error or j.message,
                    "queued": uk_time(j.created_at),
                }
                for j in jobs
            ]
        ),
        hide_index=True,
    )


def checks_page() -> None:
    st.title("Product checks")
    show_flash()
    me = principal()
    with sessions()() as session:
        mine = list_products(session, me)
    if not mine:
        st.info("Register a product first.")
        return
    names = {p.id: p.name for p in mine}
    product_id = st.selectbox("Product", list(names), format_func=names.__getitem__)
    choices = check_choices()
    kind = st.selectbox("Check", list(choices), format_func=choices.__getitem__)
    spec = spec_for(kind)
    endpoint = spec.input is InputKind.ENDPOINT
    target = st.text_input("Endpoint (host:port)") if endpoint else ""
    upload = st.file_uploader("File") if not endpoint else None
    base_url = st.text_input("Sandbox base URL (optional)") if spec.live else ""
    if st.button("Run check"):
        try:
            request = _request(kind, target, upload, base_url)
            data = upload.getvalue() if upload is not None else None
            job_id = submit_check(sessions(), job_queue(), me, product_id, request, data)
        except AssureError as exc:
            plain_error(exc)
        else:
            st.session_state[FLASH_KEY] = f"{kind.upper()} check queued as job {job_id}"
            st.rerun()
    _jobs(product_id)
    _monitoring(me, product_id)
    with sessions()() as session:
        runs = list_check_runs(session, me, product_id)
        detail = get_check_run(session, me, runs[0].id) if runs else None
    if not runs:
        return
    st.subheader("Results on record")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": r.id,
                    "check": str(r.kind),
                    "target": r.target,
                    "status": str(r.status),
                    "score": r.score,
                    "finished": uk_time(r.finished_at) if r.finished_at else "",
                }
                for r in runs
            ]
        ),
        hide_index=True,
    )
    if detail is not None:
        run, findings = detail
        st.markdown(f"**Latest run {run.id} findings**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "code": f.code,
                        "severity": str(f.severity),
                        "title": f.title,
                        "outcomes": ", ".join(f.outcome_ids),
                    }
                    for f in findings
                ]
            ),
            hide_index=True,
        )
        _downloads(run)


def _downloads(run: CheckRun) -> None:
    """The recorded report as JSON, SARIF, JUnit and (for crypto checks) a CBOM, and all of them
    signed in one attestation bundle."""
    try:
        files = run_files(run)
    except AssureError as exc:
        st.warning(escape_markdown(exc))
        return
    for column, item in zip(st.columns(len(files) + 1), files, strict=False):
        column.download_button(
            f"Download {item.label}",
            item.data,
            file_name=item.name,
            mime=item.mime,
        )
    st.download_button(
        "Download signed attestation bundle (ZIP)",
        # Signed only when clicked: the bundle carries fresh signatures over these exact files.
        lambda: attestation_bundle(files, signing_keys(load_settings())),
        file_name=f"check-run-{run.id}-attested.zip",
        mime="application/zip",
    )


def _monitoring(me, product_id: int) -> None:  # type: ignore[no-untyped-def]
    """Endpoints re-checked on a schedule, and the alerts their changes have raised."""
    st.subheader("Continuous monitoring")
    with st.form("monitor"):
        kind = st.selectbox("Endpoint kind", monitored_kinds(), format_func=str.upper)
        target = st.text_input("Endpoint to monitor (host:port, or the API description's URL)")
        if st.form_submit_button("Monitor this endpoint"):
            try:
                form = parse_form(EndpointForm, {"kind": kind, "target": target})
            except AssureError as exc:
                plain_error(exc)
            else:
                run_service(
                    lambda s: register_endpoint(s, me, product_id, form, utcnow()),
                    f"Monitoring {escape_markdown(target)}: first check due now, then weekly.",
                )
    with sessions()() as session:
        monitoring = product_monitoring(session, me, product_id)
    if monitoring.endpoints:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "kind": e.kind,
                        "target": e.target,
                        "every (days)": e.interval_days,
                        "next check": uk_time(e.next_due_at),
                    }
                    for e in monitoring.endpoints
                ]
            ),
            hide_index=True,
        )
    st.markdown("**Open alerts**")
    alerts_panel(me, monitoring.open_alerts, f"product-{product_id}", monitoring.organisation_id)
