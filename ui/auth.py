"""Sign-in for the app: first-run setup, local accounts, optional OIDC, and the server session."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from posture.audit import Actor
from posture.config import load_settings
from posture.errors import AssureError
from posture.identity.accounts import SignInFailed, authenticate, create_admin, has_admin
from posture.identity.federation import load_mapping, provision
from posture.identity.permissions import Principal
from posture.identity.sessions import close_session, open_session, resume_session
from posture.storage.engine import transaction
from ui.runtime import sessions

SESSION_KEY = "assure_session_token"


def current_principal() -> Principal | None:
    """The signed-in user, re-checked against the database on every run."""
    token = st.session_state.get(SESSION_KEY)
    if not token:
        return None
    with transaction(sessions()) as session:
        principal = resume_session(session, token)
    if principal is None:
        st.session_state.pop(SESSION_KEY, None)
    return principal


def _start_session(principal: Principal, method: str) -> None:
    with transaction(sessions()) as session:
        st.session_state[SESSION_KEY] = open_session(session, principal, method)


def sign_out() -> None:
    token = st.session_state.pop(SESSION_KEY, None)
    if token:
        with transaction(sessions()) as session:
            close_session(session, token)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets and load_settings().oidc_mapping is not None
    except (FileNotFoundError, StreamlitSecretNotFoundError, AssureError, KeyError):
        return False


def _federated_principal() -> Principal | None:
    if not (_oidc_configured() and getattr(st.user, "is_logged_in", False)):
        return None
    mapping_path = load_settings().oidc_mapping
    assert mapping_path is not None
    with transaction(sessions()) as session:
        return provision(session, dict(st.user.to_dict()), load_mapping(mapping_path))


def setup_page() -> None:
    st.title("Set up PoliceTech Assure")
    st.write("Create the first administrator. There are no default accounts.")
    with st.form("first-admin"):
        email = st.text_input("Email")
        name = st.text_input("Name")
        password = st.text_input("Password (at least 12 characters)", type="password")
        confirm = st.text_input("Repeat the password", type="password")
        submitted = st.form_submit_button("Create administrator")
    if not submitted:
        return
    if password != confirm:
        st.error("The two passwords differ.")
        return
    try:
        with transaction(sessions()) as session:
            create_admin(
                session, Actor(label="first-run setup"), email, name, password, first_run=True
            )
        with transaction(sessions()) as session:
            principal = authenticate(session, email, password)
    except AssureError as exc:
        st.error(str(exc))
        return
    _start_session(principal, "password")
    st.rerun()


def login_page() -> None:
    st.title("Sign in to PoliceTech Assure")
    try:
        federated = _federated_principal()
    except AssureError as exc:
        st.error(str(exc))
        federated = None
    if federated is not None:
        _start_session(federated, "oidc")
        st.rerun()
    if _oidc_configured():
        st.button("Sign in with your organisation", on_click=st.login)
        st.divider()
    with st.form("sign-in"):
        email = st.text_input("Email")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    with sessions()() as session:
        try:
            principal = authenticate(session, email, password)
            session.commit()
        except SignInFailed as exc:
            session.commit()  # keep the failure count and audit event
            st.error(str(exc))
            return
    _start_session(principal, "password")
    st.rerun()


def needs_setup() -> bool:
    with sessions()() as session:
        return not has_admin(session)
