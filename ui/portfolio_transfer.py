"""The force's portfolio as a spreadsheet on the register page: download it (CSV or XLSX), and,
for those who manage deployments, import an asset list with the same columns. An import with
any bad row imports nothing and lists each row's problem."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.errors import AssureError
from kernel.upload_limit import upload_mib
from posture.exports import to_csv, to_xlsx
from posture.identity.permissions import Principal, holds
from posture.portfolio.columns import COLUMNS
from posture.portfolio.transfer import LIMITS, ImportRefused, export_rows, import_deployments
from posture.storage.engine import transaction
from ui.context import FLASH_KEY, read_service
from ui.plain import plain_error
from ui.runtime import sessions

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOAD_ROUND = "portfolio-upload-round"


def portfolio_transfer(me: Principal, organisation_id: int) -> None:
    # Keyed, so it stays open when a message above it comes or goes (an import's result).
    with st.expander("Our portfolio as a spreadsheet", key="portfolio-spreadsheet"):
        st.caption(
            f"Columns: {', '.join(COLUMNS)}. Name each product by its id or its name; lists "
            "are separated by semicolons; dates are 2027-03-31 or 31/03/2027. An import "
            "deploys or updates the products it names and leaves the others as they are."
        )
        _downloads(me, organisation_id)
        if holds(me, "deployment.manage"):
            _import(me, organisation_id)


def _downloads(me: Principal, organisation_id: int) -> None:
    rows = read_service(lambda s: export_rows(s, me, organisation_id))
    if rows is None:
        return
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    left, right = st.columns(2)
    # Built now rather than on the click: a deferred file is sometimes gone from Streamlit's
    # media store by the time a second button on the page asks for it.
    left.download_button(
        "Download portfolio CSV",
        to_csv(frame),
        file_name=f"portfolio-{organisation_id}.csv",
        mime="text/csv",
        key="portfolio-csv",
    )
    right.download_button(
        "Download portfolio XLSX",
        to_xlsx(frame, "portfolio"),
        file_name=f"portfolio-{organisation_id}.xlsx",
        mime=XLSX,
        key="portfolio-xlsx",
    )


def _import(me: Principal, organisation_id: int) -> None:
    # A new key after each import gives an empty uploader: clearing a file uploader's state
    # leaves the browser showing the old file with no way to import another.
    round_ = st.session_state.get(UPLOAD_ROUND, 0)
    upload = st.file_uploader(
        f"Import deployments from CSV or XLSX ({LIMITS.max_bytes // 2**20} MiB at most)",
        type=["csv", "xlsx"],
        key=f"portfolio-upload-{round_}",
        max_upload_size=upload_mib(LIMITS.max_bytes),
    )
    if upload is None or not st.button("Import", key="portfolio-import"):
        return
    try:
        with transaction(sessions()) as session:
            report = import_deployments(session, me, organisation_id, upload.getvalue())
    except ImportRefused as exc:
        st.error(f"Nothing was imported: {len(exc.problems)} row(s) have problems.")
        st.dataframe(
            pd.DataFrame([{"row": p.row, "problem": p.problem} for p in exc.problems]),
            hide_index=True,
        )
        return
    except AssureError as exc:
        plain_error(exc)
        return
    st.session_state[UPLOAD_ROUND] = round_ + 1
    st.session_state[FLASH_KEY] = (
        f"Imported {report.rows} row(s): {len(report.deployed)} deployed, "
        f"{len(report.changed)} changed, {len(report.unchanged)} unchanged."
    )
    st.rerun()
