"""Redeeming an invitation: on the sign-in page, a new account from the code (the invitee
chooses their name and password); on the Account security page, joining from an account the
person has already, which proves the invited address is theirs."""

from __future__ import annotations

import streamlit as st

from kernel.errors import AssureError
from posture.identity.invitations import (
    accept_invitation,
    join_with_invitation,
    prepare_acceptance,
)
from posture.identity.permissions import Principal
from posture.identity.roles import role_name
from posture.storage.engine import transaction
from ui.context import GENERATIONS_KEY, run_service, widget_key
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions

TOGGLE_KEY = "assure_have_invitation"
ACCEPTED_KEY = "assure_invitation_accepted"
JOINED_KEY = "assure_invitation_joined"
FIELDS = ("invitation-code", "invitation-name", "invitation-password", "invitation-repeat")


def invitation_path() -> None:
    """Under the sign-in form: "I have an invitation" opens the form that makes the account."""
    accepted = st.session_state.pop(ACCEPTED_KEY, None)
    if accepted:
        st.session_state[TOGGLE_KEY] = False  # before the toggle is drawn in this run
        st.success(
            f"Your account for {escape_markdown(accepted)} is ready: sign in above with that "
            "address and the password you chose."
        )
    if not st.toggle("I have an invitation", key=TOGGLE_KEY):
        return
    st.subheader("Join with an invitation")
    st.write(
        "Enter the code you were given, the name others will see, and a password of at least "
        "12 characters. Your e-mail address is the one you were invited at."
    )
    with st.form("accept-invitation"):
        code = st.text_input("Invitation code", max_chars=128, key=widget_key(FIELDS[0]))
        name = st.text_input("Your name", max_chars=200, key=widget_key(FIELDS[1]))
        password = st.text_input(
            "Choose a password", type="password", max_chars=256, key=widget_key(FIELDS[2])
        )
        repeat = st.text_input(
            "Repeat the password", type="password", max_chars=256, key=widget_key(FIELDS[3])
        )
        submitted = st.form_submit_button("Create my account")
    if not submitted:
        return
    if password != repeat:
        st.error("The two passwords differ.")
        return
    try:
        # The slow password hash is done outside the transaction that spends the code.
        with sessions()() as session:
            prepared = prepare_acceptance(session, code, name, password)
        with transaction(sessions()) as session:
            email = accept_invitation(session, prepared).email
    except AssureError as exc:
        plain_error(exc)
        return
    generations = dict(st.session_state.get(GENERATIONS_KEY, {}))
    for field in FIELDS:  # the password must not linger in the form
        generations[field] = generations.get(field, 0) + 1
    st.session_state[GENERATIONS_KEY] = generations
    st.session_state[ACCEPTED_KEY] = email
    st.rerun()


def join_with_code(principal: Principal) -> None:
    """On the Account security page: redeem an invitation made out to this account's address."""
    joined = st.session_state.pop(JOINED_KEY, None)
    st.subheader("Join with an invitation")
    if joined:
        organisation, role = joined
        st.success(f"You are now {role_name(role).lower()} at {escape_markdown(organisation)}.")
    st.caption(
        "If you were invited into another organisation or role at this account's address, "
        "enter the code here."
    )
    with st.form("join-invitation"):
        code = st.text_input("Invitation code", max_chars=128, key=widget_key("join-code"))
        if st.form_submit_button("Join"):
            run_service(
                lambda s: join_with_invitation(s, principal, code),
                "Invitation accepted.",
                clear=("join-code",),
                keep=lambda result: st.session_state.__setitem__(JOINED_KEY, result),
            )
