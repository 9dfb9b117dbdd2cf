"""Queue checks for a product, watch them run, and see the results that count as its evidence.

Checks run in the background worker, so a slow endpoint never holds up the page. Each job and run
shows one status in words (supplier_portal.check_results.check_status); the controls shown are
those the person's role may use on the chosen product.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from checks.catalogue import CheckSpec, InputKind, spec_for, specs
from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import load_settings
from kernel.upload_limit import MAX_UPLOAD_MIB
from posture.check_requests import CheckRequest, file_fields
from posture.check_targets import vet_request
from posture.identity.permissions import Principal, allowed
from posture.jobs.dispatch import submit_check
from posture.monitoring.endpoints import (
    EndpointForm,
    monitored_kinds,
    product_monitoring,
    register_endpoint,
)
from posture.storage.models import CheckRun, Product
from supplier_portal.check_exports import RunFile, run_downloads, signing_keys
from supplier_portal.check_results import (
    get_check_run,
    list_check_runs,
    product_check_jobs,
    run_outcomes,
    run_status,
)
from supplier_portal.forms import parse_form
from supplier_portal.products import list_products
from ui.alerts import alerts_panel
from ui.context import FLASH_KEY, principal, run_service, show_flash, uk_time, widget_key
from ui.plain import escape_markdown, plain_error
from ui.runtime import job_queue, sessions

WATCHED_KEY = "assure_watched_jobs"
# The latest run's files, made once per run: {run id: files}. A download button handed new bytes
# on every rerun would swap the file the browser is about to fetch (issue 25: the ZIP failed when
# clicked just after the CBOM, whose click reran the page and replaced the ZIP's generator).
DOWNLOADS_KEY = "assure_run_downloads"


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
        jobs = product_check_jobs(session, principal(), product_id)
    if not jobs:
        return
    active = {j.id for j in jobs if j.status.active}
    watched = st.session_state.get(WATCHED_KEY, set())
    st.session_state[WATCHED_KEY] = active
    if watched - active:
        # A job this page was watching has finished: redraw the whole page so its results show.
        st.rerun(scope="app")
    st.subheader("Check jobs")
    for job in jobs[:3]:
        if job.status.active:
            st.progress(job.progress, text=f"Job {job.id}: {escape_markdown(job.status.text)}")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "job": j.id,
                    "check": j.kind,
                    "status": j.status.text,
                    "queued": uk_time(j.queued_at),
                }
                for j in jobs
            ]
        ),
        hide_index=True,
    )


def _inputs(spec: CheckSpec, product_id: int):  # type: ignore[no-untyped-def]
    """The widgets for what the kind of check reads; keyed by product and kind, so another
    choice starts empty."""
    scope = (product_id, spec.kind)
    target, upload, base_url = "", None, ""
    if spec.input is InputKind.ENDPOINT:
        target = st.text_input("Endpoint (host:port)", key=widget_key("check-target", *scope))
    else:
        upload = st.file_uploader(
            f"File ({MAX_UPLOAD_MIB} MiB at most)",
            help=spec.input_help or None,
            key=widget_key("check-file", *scope),
            max_upload_size=MAX_UPLOAD_MIB,
        )
    if spec.input is InputKind.FILE_OR_URL:
        target = st.text_input(
            "Or the https:// URL it is published at", key=widget_key("check-url", *scope)
        )
    if spec.live:
        base_url = st.text_input(
            "Sandbox base URL (optional)", key=widget_key("check-base-url", *scope)
        )
    return target.strip(), upload, base_url.strip()


def _run_form(me: Principal, product: Product) -> None:
    choices = check_choices()
    kind = st.selectbox("Check", list(choices), format_func=choices.__getitem__)
    target, upload, base_url = _inputs(spec_for(kind), product.id)
    if st.button("Run check"):
        try:
            request = _request(kind, target, upload, base_url)
            data = upload.getvalue() if upload is not None else None
            job_id = submit_check(sessions(), job_queue(), me, product.id, request, data)
        except AssureError as exc:
            # Refused before anything was queued: what was typed stays, to be corrected.
            plain_error(exc)
        else:
            st.session_state[FLASH_KEY] = f"{kind.upper()} check queued as job {job_id}"
            st.rerun()


def checks_page() -> None:
    st.title("Product checks")
    show_flash()
    me = principal()
    with sessions()() as session:
        mine = list_products(session, me)
    if not mine:
        st.info("Register a product first.")
        return
    by_id = {p.id: p for p in mine}
    product = by_id[st.selectbox("Product", list(by_id), format_func=lambda i: by_id[i].name)]
    may_run = allowed(me, "check.run", product.organisation_id)
    if may_run:
        _run_form(me, product)
    _jobs(product.id)
    _monitoring(me, product.id, may_run)
    _results(me, product.id)


def _results(me: Principal, product_id: int) -> None:
    with sessions()() as session:
        runs = list_check_runs(session, me, product_id)
        outcomes = run_outcomes(session, runs)
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
                    "status": run_status(outcomes[r.id]).text,
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


def _files_of(run: CheckRun) -> list[RunFile]:
    """The run's files, made on its first showing and then kept: a stored run never changes,
    so the same bytes are handed to every download button on every rerun."""
    # Keyed by the run's stored result too: erasing a person rewrites a run's result in place,
    # and files made before that must not be served after it.
    key = (run.id, hashlib.sha256(repr(run.result).encode()).hexdigest())
    held = st.session_state.get(DOWNLOADS_KEY, {})
    if key not in held:
        # Only the latest run's files are kept: the page offers no others.
        held = {key: run_downloads(run, signing_keys(load_settings()))}
        st.session_state[DOWNLOADS_KEY] = held
    files: list[RunFile] = held[key]
    return files


def _downloads(run: CheckRun) -> None:
    """The recorded report as JSON, SARIF, JUnit and (for crypto checks) a CBOM, and all of them
    signed in one attestation bundle."""
    try:
        files = _files_of(run)
    except AssureError as exc:
        st.warning(escape_markdown(exc))
        return
    for column, item in zip(st.columns(len(files)), files, strict=True):
        column.download_button(
            f"Download {item.label}",
            item.data,
            file_name=item.name,
            mime=item.mime,
            key=f"download-{run.id}-{item.name}",
            # A download changes nothing on the page, so it does not rerun it.
            on_click="ignore",
        )


def _monitoring(me: Principal, product_id: int, may_register: bool) -> None:
    """Endpoints re-checked on a schedule, and the alerts their changes have raised; the form to
    add one only for a role that may run checks on the product."""
    st.subheader("Continuous monitoring")
    if may_register:
        _monitor_form(me, product_id)
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


def _monitor_form(me: Principal, product_id: int) -> None:
    with st.form("monitor"):
        kind = st.selectbox("Endpoint kind", monitored_kinds(), format_func=str.upper)
        target = st.text_input("Endpoint to monitor (host:port, or the API description's URL)")
        if st.form_submit_button("Monitor this endpoint"):
            try:
                form = parse_form(EndpointForm, {"kind": kind, "target": target})
                # Every re-check is queued as a check request: a target the worker would refuse
                # is refused now, as a check run from this page is.
                request = parse_form(CheckRequest, {"kind": form.kind, "target": form.target})
                vet_request(request, job_queue().egress)
            except AssureError as exc:
                plain_error(exc)
            else:
                run_service(
                    lambda s: register_endpoint(s, me, product_id, form, utcnow()),
                    f"Monitoring {escape_markdown(target)}: first check due now, then weekly.",
                )
