"""Run checks for a product and see the results that now count as its evidence.

Short checks run here and now; long live API runs are bounded by a small budget on this page.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from checks.egress import EgressPolicy
from checks.report import CheckReport
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.config import load_settings
from posture.errors import AssureError
from supplier_portal.check_results import get_check_run, list_check_runs
from supplier_portal.products import get_product, list_products
from ui.context import principal, run_service, show_flash
from ui.runtime import sessions

KINDS = {
    "tls": "TLS endpoint (host:port)",
    "ssh": "SSH endpoint (host:port)",
    "cert": "Certificate file",
    "jwks": "JWKS file",
    "cbom": "CBOM file",
    "api": "OpenAPI description (+ optional sandbox URL)",
}


def _report(kind: str, target: str, upload, base_url: str) -> CheckReport:  # type: ignore[no-untyped-def]
    policy = EgressPolicy.from_settings(load_settings())
    if kind == "tls":
        from checks.tls.check import run_tls_check

        return run_tls_check(target, policy)
    if kind == "ssh":
        from checks.ssh import run_ssh_check

        return run_ssh_check(target, policy)
    if upload is None:
        raise AssureError("choose a file to check")
    raw, name = upload.getvalue(), upload.name
    if kind == "cert":
        from checks.certificate_file import run_certificate_check

        return run_certificate_check(raw, name)
    if kind == "jwks":
        from checks.jwks import run_jwks_check

        return run_jwks_check(raw, name)
    if kind == "cbom":
        from checks.cbom import run_cbom_check

        return run_cbom_check(raw, name)
    import tempfile
    from pathlib import Path

    from checks.api.check import run_api_check
    from checks.api.live import LiveSettings

    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / name
        spec.write_bytes(raw)
        return run_api_check(
            str(spec),
            policy,
            base_url or None,
            [],
            LiveSettings(max_examples=10, budget_seconds=20),
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
    kind = st.selectbox("Check", list(KINDS), format_func=KINDS.__getitem__)
    target = st.text_input("Endpoint (host:port)") if kind in ("tls", "ssh") else ""
    upload = st.file_uploader("File") if kind not in ("tls", "ssh") else None
    base_url = st.text_input("Sandbox base URL (optional)") if kind == "api" else ""
    if st.button("Run check"):
        try:
            report = _report(kind, target, upload, base_url)
        except AssureError as exc:
            st.error(str(exc))
        else:

            def store(session):  # type: ignore[no-untyped-def]
                product = get_product(session, me, product_id, "check.run")
                return record_check_run(
                    session,
                    Actor(me.email, me.user_id),
                    report,
                    product.organisation_id,
                    product.id,
                )

            run_service(
                store,
                f"{kind.upper()} check recorded: score "
                f"{'n/a' if report.score is None else f'{report.score:g}'}",
            )
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
                    "finished": r.finished_at,
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
        st.download_button(
            "Download JSON",
            json.dumps(run.result, indent=2, default=str),
            file_name=f"check-run-{run.id}.json",
            mime="application/json",
        )
