"""The Organisations tab: every organisation the administrator reaches, with its kind and how
many people belong to it; platform administrators create new ones."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.identity.directory import create_organisation
from posture.identity.permissions import holds
from posture.identity.roles import kind_name
from posture.storage.models.enums import OrgKind
from ui.admin_common import organisations
from ui.context import run_service, uk_date, widget_key
from ui.plain import escape_markdown

NEW_KINDS = [OrgKind.FORCE, OrgKind.NATIONAL_BODY, OrgKind.SUPPLIER]


def organisations_tab(me) -> None:  # type: ignore[no-untyped-def]
    found = organisations(me)
    st.caption(f"{len(found)} organisations.")
    if found:
        st.dataframe(
            pd.DataFrame(
                {
                    "Name": [o.name for o in found],
                    "Short name (slug)": [o.slug for o in found],
                    "Kind": [kind_name(o.kind) for o in found],
                    "People": [o.members for o in found],
                    "Created": [uk_date(o.created_at) for o in found],
                }
            ),
            hide_index=True,
            use_container_width=True,
        )
    if holds(me, "organisation.create"):
        _create(me)


def _create(me) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Create an organisation")
    with st.form("create-organisation"):
        name = st.text_input("Name", max_chars=200, key=widget_key("org-name"))
        slug = st.text_input(
            "Short name (slug)",
            max_chars=80,
            help="Lower-case letters and digits with single hyphens, e.g. kent-police.",
            key=widget_key("org-slug"),
        )
        kind = st.selectbox("Kind", NEW_KINDS, format_func=kind_name)
        if st.form_submit_button("Create the organisation") and kind is not None:
            run_service(
                lambda s: create_organisation(s, me, name, slug, kind),
                f"{escape_markdown(name.strip())} created.",
                clear=("org-name", "org-slug"),
            )
