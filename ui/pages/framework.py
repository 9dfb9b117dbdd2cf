"""The frameworks, browsable by anyone signed in: PTSbD, the CAF and Cyber Essentials with their
objectives, principles, outcomes, indicators and URNs; how PTSbD covers each upstream catalogue;
downloads for GRC tools; and, for estate-wide roles, imports of CISO Assistant and OSCAL files."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from frameworks.catalogue_view import catalogue_id_of
from frameworks.crosswalk import coverage
from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework
from frameworks.urns import UrnKind, element_urn, framework_urn, outcome_urn
from kernel.errors import AssureError
from kernel.upload_limit import upload_mib
from posture.assessment_frameworks import assessable_frameworks, framework_named
from posture.framework_exchange import (
    MAX_UPLOAD_BYTES,
    PERMISSION,
    UploadKind,
    framework_download,
    import_upload,
)
from posture.identity.permissions import holds
from ui.context import FLASH_KEY, principal, show_flash
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions

LEVEL_LABELS = {
    "not_achieved": "Not achieved",
    "partially_achieved": "Partially achieved",
    "achieved": "Achieved",
}


def render() -> None:
    show_flash()
    frameworks = {f"{f.framework.title} {f.framework.version}": f for f in assessable_frameworks()}
    loaded = frameworks[st.selectbox("Framework", list(frameworks))]
    browse(loaded)
    downloads(loaded)
    if loaded.key == assessable_frameworks()[0].key:
        coverage_section(loaded)
    me = principal()
    if holds(me, PERMISSION):
        import_section(me)


def browse(loaded: LoadedFramework) -> None:
    framework = loaded.framework
    key = loaded.key
    st.title(f"{framework.title} {framework.version}")
    st.caption(
        f"{len(framework.outcomes())} outcomes in {len(framework.objectives)} objectives; "
        f"published by {framework.publisher} under {framework.licence}. "
        f"URN {framework_urn(*key)}"
    )
    if framework.source:
        st.caption(f"Source: {framework.source}")
    for objective in framework.objectives:
        st.header(f"{objective.id}. {objective.title}")
        st.write(objective.intent)
        for principle in objective.principles:
            st.subheader(f"{principle.id} {principle.title}")
            st.caption(element_urn(UrnKind.PRINCIPLE, *key, principle.id))
            for outcome in principle.outcomes:
                badge = " · critical" if outcome.critical else ""
                with st.expander(f"{outcome.id} {outcome.title} (weight {outcome.weight}{badge})"):
                    st.write(outcome.intent)
                    st.caption(f"Applies to: {outcome.audience} · {outcome_urn(*key, outcome.id)}")
                    for level, indicators in outcome.indicators.by_level().items():
                        if indicators:
                            st.markdown(f"**{LEVEL_LABELS[level]}**")
                            st.markdown("\n".join(f"- {i.text} `{i.id}`" for i in indicators))


def downloads(loaded: LoadedFramework) -> None:
    st.header("Download")
    st.caption("For GRC tools: CISO Assistant loads the library; OSCAL tools read the catalog.")
    left, right = st.columns(2)
    for column, form, label, media in (
        (left, "ciso", "CISO Assistant library (YAML)", "application/yaml"),
        (right, "oscal", "OSCAL catalog (JSON)", "application/json"),
    ):
        name, data = _download(catalogue_id_of(loaded.framework), form)
        column.download_button(label, data, file_name=name, mime=media, key=f"download-{form}")


# Shipped frameworks never change while the app runs; each file is made once per process.
@st.cache_data(show_spinner=False, max_entries=16)
def _download(catalogue_id: str, form: str) -> tuple[str, bytes]:
    return framework_download(framework_named(catalogue_id), form)


def coverage_section(loaded: LoadedFramework) -> None:
    """How PTSbD covers each upstream catalogue, from the shipped crosswalks."""
    st.header("Coverage of other catalogues")
    library = shipped_library()
    targets = sorted(t for (f, v, t) in library.crosswalks if (f, v) == loaded.key)
    target = st.selectbox("Against", targets)
    catalogue = library.catalogues[target]
    crosswalk = library.crosswalks[(*loaded.key, target)]
    rows = coverage(crosswalk, [(i.id, i.title) for i in catalogue.items()], library.coverage_rules)
    table = pd.DataFrame(
        [
            {
                "id": row.target_id,
                "title": row.title,
                "status": row.status.value,
                "from": ", ".join(row.sources),
                "strength": row.best_strength,
                "why": row.rationale,
            }
            for row in rows
        ]
    )
    st.caption(
        f"{catalogue_id_of(loaded.framework)} against {catalogue.title} {catalogue.version}: "
        + ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items())
    )
    st.dataframe(table, hide_index=True, use_container_width=True)


def import_section(me) -> None:  # type: ignore[no-untyped-def]
    st.header("Import")
    st.caption(
        "A CISO Assistant framework library or an OSCAL catalog becomes an upstream catalogue; "
        "an OSCAL profile is resolved against a catalogue already imported. A file that fails "
        "any check is refused whole and nothing is stored."
    )
    kind = UploadKind(st.selectbox("Kind of file", [k.value for k in UploadKind]))
    catalogue_id = st.text_input(
        "Catalogue id (optional)",
        help="Store a catalogue under this id, or name the imported catalogue a profile tailors.",
    )
    upload = st.file_uploader(
        f"File ({MAX_UPLOAD_BYTES // 2**20} MiB at most)",
        type=["yaml", "yml", "json"],
        max_upload_size=upload_mib(MAX_UPLOAD_BYTES),
    )
    if upload is None or not st.button("Check and import"):
        return
    try:
        from posture.storage.engine import transaction

        with transaction(sessions()) as session:
            result = import_upload(
                session, me, kind, upload.name, upload.getvalue(), catalogue_id.strip()
            )
    except AssureError as exc:
        plain_error(exc)
        return
    verb = "Already imported" if result.already_present else "Imported"
    st.session_state[FLASH_KEY] = f"{verb}: {escape_markdown(result.summary)}."
    st.rerun()
