"""The Users tab: people with their roles in words, whether they can sign in, their second
factor, last sign-in and lockout; disabling and re-enabling; giving and taking roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.identity.people import Person, give_role, list_people, set_active, take_role
from posture.identity.roles import role_name
from ui.admin_common import choose_place, organisation_label, organisations, when
from ui.context import read_service, run_service
from ui.plain import escape_markdown

PAGE_SIZE = 50
STATUSES = {"Everyone": "all", "Can sign in": "active", "Disabled": "disabled"}


def users_tab(me) -> None:  # type: ignore[no-untyped-def]
    orgs = organisations(me)
    by_id = {org.id: org for org in orgs}
    left, middle, right, last = st.columns([3, 3, 2, 1])
    search = left.text_input("Search by name or address", max_chars=254, key="people-search")
    org_id = middle.selectbox(
        "Organisation",
        [None, *by_id],
        format_func=lambda i: "Every organisation" if i is None else organisation_label(by_id[i]),
        key="people-organisation",
    )
    status = right.selectbox("Accounts", list(STATUSES), key="people-status")
    page_number = last.number_input("Page", min_value=1, value=1, step=1, key="people-page")
    found = read_service(
        lambda s: list_people(
            s, me, search, org_id, STATUSES[status], PAGE_SIZE, (int(page_number) - 1) * PAGE_SIZE
        )
    )
    if found is None:
        return
    pages = max(1, -(-found.total // PAGE_SIZE))
    st.caption(f"{found.total} people match; page {int(page_number)} of {pages}.")
    if not found.people:
        st.info("Nobody matches.")
        return
    st.dataframe(_table(found.people), hide_index=True, use_container_width=True)
    people = {p.user_id: p for p in found.people}
    chosen = st.selectbox(
        "Person to change",
        list(people),
        format_func=lambda i: f"{people[i].display_name} <{people[i].email}>",
        key="people-chosen",
    )
    if chosen is not None:
        _change(me, people[chosen], orgs)


def _roles(person: Person) -> str:
    return (
        "; ".join(f"{role_name(r.role)} at {r.organisation_name}" for r in person.roles) or "none"
    )


def _table(people: list[Person]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Name": [p.display_name for p in people],
            "Address": [p.email for p in people],
            "Roles": [_roles(p) for p in people],
            "Account": ["can sign in" if p.is_active else "disabled" for p in people],
            "Two-step verification": [p.second_factor for p in people],
            "Last sign-in": [when(p.last_login_at) for p in people],
            "Locked until": [when(p.locked_until, "not locked") for p in people],
        }
    )


def _change(me, person: Person, orgs) -> None:  # type: ignore[no-untyped-def]
    name = escape_markdown(person.display_name)
    if person.user_id == me.user_id:
        st.caption("This is your own account: another administrator can disable it.")
    elif person.is_active:
        if st.button(f"Disable {name}'s account", key=f"disable-{person.user_id}"):
            run_service(
                lambda s: set_active(s, me, person.user_id, False),
                f"{name}'s account is disabled: their sessions have ended and their API "
                "tokens are revoked.",
            )
    elif st.button(f"Re-enable {name}'s account", key=f"enable-{person.user_id}"):
        run_service(
            lambda s: set_active(s, me, person.user_id, True),
            f"{name}'s account is enabled again; they sign in as before.",
        )
    if person.roles:
        held = {index: r for index, r in enumerate(person.roles)}
        with st.form(f"take-role-{person.user_id}"):
            index = st.selectbox(
                "Role to take away",
                list(held),
                format_func=lambda i: f"{role_name(held[i].role)} at {held[i].organisation_name}",
            )
            if st.form_submit_button("Take the role away") and index is not None:
                taken = held[index]
                run_service(
                    lambda s: take_role(s, me, person.user_id, taken.organisation_id, taken.role),
                    f"{role_name(taken.role)} taken away from {name}.",
                )
    _give(me, person, orgs)


def _give(me, person: Person, orgs) -> None:  # type: ignore[no-untyped-def]
    st.markdown("**Give a role**")
    chosen = choose_place(me, orgs, ("In the organisation", "Role"), "give", person.user_id)
    if chosen is None:
        return
    org, role = chosen
    name = escape_markdown(person.display_name)
    if any(r.organisation_id == org.id and r.role == role for r in person.roles):
        st.caption(f"{name} holds this role there already.")
        return
    if st.button("Give the role", key=f"give-{person.user_id}"):
        run_service(
            lambda s: give_role(s, me, person.user_id, org.id, role),
            f"{name} is now {role_name(role).lower()} at {escape_markdown(org.name)}.",
            clear=("give-org", "give-role"),
        )
