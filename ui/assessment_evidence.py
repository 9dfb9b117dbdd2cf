"""Evidence on the self-assessment page: the files that support the outcome being answered, an
upload that says which outcomes the file supports, every file of the draft with its outcomes, and
a way to change which outcomes a file supports. File names are user text: shown in tables and
escaped labels, never as Markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from frameworks.schema import Outcome
from kernel.settings import load_settings
from kernel.upload_limit import MAX_UPLOAD_MIB
from posture.identity.permissions import Principal, holds
from posture.storage.models import Assessment, Evidence
from supplier_portal import evidence
from ui.context import run_service, widget_key
from ui.plain import escape_markdown

UPLOAD_FIELDS = ("evidence-file", "evidence-expires-on", "evidence-outcomes")
LINK_FIELDS = ("evidence-link-outcomes",)


def _size(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MiB"
    return f"{max(size_bytes // 1024, 1)} KiB"


def _rows(files: list[Evidence], with_outcomes: bool) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "File": f.filename,
                "Type": f.media_type,
                "Size": _size(f.size_bytes),
                "Valid until": f.expires_on.isoformat() if f.expires_on else "no expiry given",
                **(
                    {"Supports": ", ".join(evidence.supported_outcomes(f)) or "no outcome yet"}
                    if with_outcomes
                    else {}
                ),
            }
            for f in files
        ]
    ).set_index("File")


def outcome_evidence(outcome_id: str, files: list[Evidence]) -> None:
    """The files said to support this outcome, under its answer."""
    linked = evidence.evidence_by_outcome(files).get(outcome_id, [])
    st.markdown(f"**Evidence for {outcome_id}**")
    if not linked:
        st.caption("No file supports this outcome yet: attach one below.")
        return
    st.table(_rows(linked, with_outcomes=False))


def evidence_section(
    me: Principal,
    draft: Assessment,
    scope: list[Outcome],
    files: list[Evidence],
    outcome_id: str,
) -> None:
    if not holds(me, "evidence.write"):
        return
    titles = {o.id: f"{o.id} {o.title}" for o in scope}
    st.subheader("Evidence")
    upload = st.file_uploader(
        f"Attach evidence (PDF, image, Office, JSON or text; {MAX_UPLOAD_MIB} MiB at most)",
        key=widget_key("evidence-file", draft.id),
        max_upload_size=MAX_UPLOAD_MIB,
    )
    supports = st.multiselect(
        "Outcomes this file supports",
        list(titles),
        default=[outcome_id],
        format_func=lambda i: titles.get(i, i),
        key=widget_key("evidence-outcomes", draft.id, outcome_id),
    )
    # No bounds on the picker: a day it would grey out is passed on, and the service refuses
    # it with its reason (a picker out of range answers None, which would store no expiry).
    holds_until = st.date_input(
        "Valid until (optional: the last day the document holds; you are reminded before it)",
        value=None,
        key=widget_key("evidence-expires-on", draft.id),
    )
    if upload is not None and st.button("Upload evidence"):
        settings = load_settings()
        run_service(
            lambda s: evidence.add_evidence(
                s, me, settings, draft.id, upload.name, upload.getvalue(), holds_until, supports
            ),
            "Evidence stored.",
            clear=UPLOAD_FIELDS,
        )
    if not files:
        return
    st.markdown("**Every file attached to this draft**")
    st.table(_rows(files, with_outcomes=True))
    _relink(me, draft, files, titles)


def _relink(
    me: Principal, draft: Assessment, files: list[Evidence], titles: dict[str, str]
) -> None:
    with st.expander("Change which outcomes a file supports"):
        by_id = {f.id: f for f in files}
        chosen = st.selectbox(
            "File",
            list(by_id),
            format_func=lambda i: f"{by_id[i].filename} (file {i})" if i in by_id else str(i),
            key=f"evidence-link-file-{draft.id}",
        )
        current = [o for o in evidence.supported_outcomes(by_id[chosen]) if o in titles]
        outcomes = st.multiselect(
            "It supports",
            list(titles),
            default=current,
            format_func=lambda i: titles.get(i, i),
            key=widget_key("evidence-link-outcomes", draft.id, chosen),
        )
        if st.button("Save what it supports"):
            name = escape_markdown(by_id[chosen].filename)
            run_service(
                lambda s: evidence.link_evidence(s, me, chosen, outcomes),
                f"Saved the outcomes {name} supports.",
                clear=LINK_FIELDS,
            )
