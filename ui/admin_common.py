"""What the administration tabs share: a one-time secret shown until it is put away, and the
organisations the signed-in administrator may choose among."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from posture.identity.directory import OrganisationSummary, list_organisations
from posture.identity.permissions import Principal
from posture.identity.roles import kind_name, role_name, roles_held_in
from posture.storage.models.enums import SUPPLIER_ROLES, Role
from ui.context import read_service, uk_time, widget_key
from ui.plain import plain

REVEAL_KEY = "assure_admin_one_time_secret"


@dataclass(frozen=True)
class OneTimeSecret:
    """An invitation code or API token: never stored, so shown until the administrator says
    they have it (a rerun in between must not lose it), then gone for good."""

    heading: str  # fixed words, Markdown
    value: str
    note: str  # plain text: may name a person or an organisation


def keep_secret(secret: OneTimeSecret) -> None:
    st.session_state[REVEAL_KEY] = secret


def _forget() -> None:
    st.session_state.pop(REVEAL_KEY, None)


def show_secret() -> None:
    secret = st.session_state.get(REVEAL_KEY)
    if not isinstance(secret, OneTimeSecret):
        return
    with st.container(border=True):
        st.subheader(secret.heading)
        st.warning("Copy it now: it is shown only this once, and cannot be shown again.")
        st.code(secret.value, language=None)
        plain(secret.note)
        st.button("I have copied it", on_click=_forget, key="forget-secret")


def organisations(me: Principal) -> list[OrganisationSummary]:
    return read_service(lambda s: list_organisations(s, me)) or []


def organisation_label(org: OrganisationSummary) -> str:
    return f"{org.name} ({kind_name(org.kind).lower()}, {org.slug})"


def roles_to_give(me: Principal, org: OrganisationSummary) -> list[Role]:
    """Roles the organisation can hold that this administrator may give: platform
    administrators any, an organisation's administrators its supplier roles."""
    held = roles_held_in(org.kind)
    if Role.PLATFORM_ADMIN in me.roles():
        return held
    return [role for role in held if role in SUPPLIER_ROLES]


def choose_place(
    me: Principal,
    orgs: list[OrganisationSummary],
    labels: tuple[str, str],
    key: str,
    *scope: object,
) -> tuple[OrganisationSummary, Role] | None:
    """An organisation, then a role it holds that `me` may give (the role box follows the
    organisation chosen, so it is outside any form). `labels` are the two boxes' labels;
    `key` and `scope` key them, so widget_key's generations empty them after a change."""
    by_id = {org.id: org for org in orgs}
    if not by_id:
        return None
    org_id = st.selectbox(
        labels[0],
        list(by_id),
        format_func=lambda i: organisation_label(by_id[i]),
        key=widget_key(f"{key}-org", *scope),
    )
    if org_id is None:
        return None
    roles = roles_to_give(me, by_id[org_id])
    if not roles:
        st.caption("You cannot give any role in this organisation.")
        return None
    role = st.selectbox(
        labels[1], roles, format_func=role_name, key=widget_key(f"{key}-role", *scope, org_id)
    )
    return None if role is None else (by_id[org_id], role)


def when(moment, never: str = "never") -> str:  # type: ignore[no-untyped-def]
    return uk_time(moment) if moment is not None else never
