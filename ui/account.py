"""Account security: the signed-in user's second factor and recovery codes. Changing either asks
for the password and a current code again, so an unattended session cannot take them over."""

from __future__ import annotations

import streamlit as st

from posture.errors import AssureError
from posture.identity import mfa
from posture.identity.accounts import actor_of
from posture.identity.signin import reauthenticate
from posture.storage.engine import transaction
from ui import auth
from ui.context import principal as current_principal
from ui.runtime import sessions

ENROL_KEY = "assure_account_enrolment"
NEW_CODES_KEY = "assure_account_new_codes"


def account_page() -> None:
    st.title("Account security")
    principal = current_principal()
    st.text(f"Signed in as {principal.email}")
    with sessions()() as session:
        enrolled = mfa.has_factor(session, principal.user_id)
        left = mfa.recovery_codes_left(session, principal.user_id) if enrolled else 0
    required = mfa.mfa_required(principal.roles())
    codes = st.session_state.pop(NEW_CODES_KEY, None)
    if codes:
        auth.show_recovery_codes(codes)
    if not enrolled:
        if required:
            st.warning("Your role needs two-step verification; set it up at your next sign-in.")
        _enrol(principal)
        return
    st.success(f"Two-step verification is on. Recovery codes left: {left}.")
    if left <= 3:
        st.warning("Few recovery codes are left: make new ones.")
    with st.form("change-factor"):
        st.write("Confirm it is you to change your second factor.")
        password = st.text_input("Password", type="password")
        code = st.text_input("Current code from your authenticator app", max_chars=10)
        action = st.radio(
            "Change", ["Make new recovery codes", "Remove two-step verification"], index=0
        )
        submitted = st.form_submit_button("Confirm")
    if not submitted:
        return
    try:
        reauthenticate(
            sessions(), auth.box(), principal.user_id, password, code, auth.client_address()
        )
        with transaction(sessions()) as session:
            if action.startswith("Make new"):
                st.session_state[NEW_CODES_KEY] = mfa.regenerate_recovery_codes(session, principal)
            else:
                actor = actor_of(principal)
                mfa.remove_factor(session, actor, principal.user_id, "removed by its owner")
    except AssureError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _enrol(principal) -> None:  # type: ignore[no-untyped-def]
    st.write("Add an authenticator app as a second factor.")
    enrolment = auth.offer_enrolment(ENROL_KEY, principal.email)
    with st.form("account-enrol"):
        password = st.text_input("Password", type="password")
        code = st.text_input("Code from the app", max_chars=10)
        submitted = st.form_submit_button("Turn on two-step verification")
    if not submitted:
        return
    try:
        reauthenticate(
            sessions(), auth.box(), principal.user_id, password, "", auth.client_address()
        )
        with transaction(sessions()) as session:
            actor = actor_of(principal)
            codes = mfa.confirm_enrolment(
                session, auth.box(), actor, principal.user_id, enrolment.secret, code
            )
    except AssureError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(ENROL_KEY, None)
    st.session_state[NEW_CODES_KEY] = codes
    st.rerun()
