"""Sign-in for the app: first-run setup with a console code, a password (or an organisation's
identity provider), a second factor (a code or a passkey) where needed, and the server
session."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from kernel.clock import utcnow
from kernel.errors import AssureError
from kernel.settings import load_settings
from posture.identity import mfa, passkeys
from posture.identity.accounts import has_admin, principal_for
from posture.identity.client_address import client_address as resolve_address
from posture.identity.federation import FederatedSignInRefused, load_mapping, provision
from posture.identity.passkeys import RelyingParty
from posture.identity.permissions import Principal
from posture.identity.secretbox import SecretBox, secret_box
from posture.identity.sessions import (
    close_session,
    handoff_pending,
    issue_handoff,
    open_session,
    resume_session,
)
from posture.identity.setup import SetupCode, console_notice, create_first_admin
from posture.identity.signin import (
    SignInFailed,
    Verified,
    complete_enrolment,
    complete_federated,
    complete_passkey_enrolment,
    complete_with_code,
    complete_with_passkey,
    federated_step,
    sign_in_with_password,
)
from posture.storage.engine import transaction
from posture.storage.models import User
from ui.components.passkey import held_ceremony, passkey_button
from ui.components.session_cookie import hand_over_cookie
from ui.invitation_form import invitation_path
from ui.plain import escape_markdown
from ui.runtime import sessions
from ui.session_cookie import COOKIE

SESSION_KEY = "assure_session_token"
PENDING_KEY = "assure_pending_sign_in"
ENROLMENT_KEY = "assure_pending_enrolment"
CODES_KEY = "assure_recovery_codes_to_show"
REFUSED_KEY = "assure_federation_refused"
PASSKEY_KEY = "assure_sign_in_passkey"
NOTICE_KEY = "assure_sign_in_notice"
HANDOFF_KEY = "assure_session_handoff"
COOKIE_SPENT_KEY = "assure_session_cookie_spent"
STEP_KEYS = (PENDING_KEY, ENROLMENT_KEY, CODES_KEY, PASSKEY_KEY, NOTICE_KEY)


@dataclass(frozen=True)
class _CodesToShow:
    """Recovery codes shown once after enrolment; the session opens when they are put away."""

    principal: Principal
    method: str
    codes: tuple[str, ...]


@st.cache_resource(show_spinner=False)
def _setup_code(database_url: str) -> SetupCode:
    # Printed where only the server's operator can read it; one code per database per process.
    code, shown = SetupCode.generate()
    print(console_notice(shown), file=sys.stderr, flush=True)
    return code


@st.cache_resource(show_spinner=False)
def _box(data_dir: str) -> SecretBox:
    return secret_box(load_settings())


def box() -> SecretBox:
    return _box(str(load_settings().data_dir))


def relying_party() -> RelyingParty | None:
    """Who passkeys are for, from ASSURE_WEBAUTHN_ORIGIN; None when they are not set up."""
    return passkeys.relying_party(load_settings())


def client_address() -> str | None:
    peer = st.context.ip_address
    # Every X-Forwarded-For line, in order: some proxies add a line of their own rather than
    # appending to the client's, and the client's own line must not be the one believed.
    lines = st.context.headers.get_all("X-Forwarded-For")
    forwarded = ",".join(line for line in lines if isinstance(line, str))
    return resolve_address(
        peer if isinstance(peer, str) else None,
        forwarded or None,
        load_settings().trusted_proxies,
    )


def current_principal() -> Principal | None:
    """The signed-in user, re-checked against the database on every run: by the page's own
    token, or on a fresh page (a refresh) by the session cookie its browser was given."""
    token = st.session_state.get(SESSION_KEY) or _cookie_token()
    if not token:
        return None
    with transaction(sessions()) as session:
        principal = resume_session(session, token)
    if principal is None:
        st.session_state.pop(SESSION_KEY, None)
        # A signed-out or expired cookie stays in this page's request; it must not be tried
        # again on every run of the sign-in page.
        st.session_state[COOKIE_SPENT_KEY] = True
    else:
        st.session_state[SESSION_KEY] = token
    return principal


def _cookie_token() -> str | None:
    if st.session_state.get(COOKIE_SPENT_KEY):
        return None
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) else None


def _start_session(principal: Principal, method: str) -> None:
    for key in STEP_KEYS:
        st.session_state.pop(key, None)
    with transaction(sessions()) as session:
        token = open_session(session, principal, method)
        st.session_state[SESSION_KEY] = token
        st.session_state[HANDOFF_KEY] = issue_handoff(session, token)


def hand_over_session() -> None:
    """Give the browser its session cookie after sign-in (an invisible component), drawn on
    each run until the server has seen the code spent or expire."""
    code = st.session_state.get(HANDOFF_KEY)
    token = st.session_state.get(SESSION_KEY)
    if not code:
        return
    with sessions()() as session:
        pending = bool(token) and handoff_pending(session, token)
    if not pending:
        st.session_state.pop(HANDOFF_KEY, None)
        return
    hand_over_cookie(code)


def sign_out() -> None:
    token = st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(HANDOFF_KEY, None)
    st.session_state[COOKIE_SPENT_KEY] = True  # closed below, with the session it resumed
    for key in STEP_KEYS:
        st.session_state.pop(key, None)
    if token:
        with transaction(sessions()) as session:
            close_session(session, token)
    # Whatever the pages kept for this person (made downloads, chosen records, typed text) goes
    # with them: the next person signing in at this browser starts from nothing.
    for key in list(st.session_state.keys()):
        if key != COOKIE_SPENT_KEY:
            del st.session_state[key]
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets and load_settings().oidc_mapping is not None
    except (FileNotFoundError, StreamlitSecretNotFoundError, AssureError, KeyError):
        return False


def _federated_sign_in() -> None:
    """After the identity provider redirected back: admit, or ask for a second factor."""
    if not (_oidc_configured() and getattr(st.user, "is_logged_in", False)):
        st.session_state.pop(REFUSED_KEY, None)
        return
    refused = st.session_state.get(REFUSED_KEY)
    if refused:
        # Shown once per refusal, not re-decided (and re-audited) on every rerun.
        st.error(refused)
        st.button("Sign out of your organisation's sign-in", on_click=st.logout)
        return
    mapping_path = load_settings().oidc_mapping
    assert mapping_path is not None
    with sessions()() as session:
        try:
            outcome = provision(session, dict(st.user.to_dict()), load_mapping(mapping_path))
            step = federated_step(session, outcome.principal, outcome.mfa_asserted)
            session.commit()
        except FederatedSignInRefused as exc:
            session.commit()  # keep the audited refusal
            st.session_state[REFUSED_KEY] = str(exc)
            st.rerun()
    if step == "done":
        method = "oidc+mfa" if outcome.mfa_asserted else "oidc"
        complete_federated(sessions(), outcome.principal, method)
        _start_session(outcome.principal, method)
    else:
        principal = outcome.principal
        pending = Verified(principal.user_id, principal.email, "oidc", step, utcnow())
        st.session_state[PENDING_KEY] = pending
    st.rerun()


def _provider_buttons() -> None:
    mapping_path = load_settings().oidc_mapping
    assert mapping_path is not None
    for provider in load_mapping(mapping_path).providers:
        st.button(
            f"Sign in with {provider.name}",
            key=f"oidc-{provider.name}",
            on_click=st.login,
            args=(provider.name,),
        )


def setup_page() -> None:
    st.title("Set up PoliceTech Assure")
    st.write(
        "Create the first administrator. There are no default accounts. The setup code was "
        "printed on the server's console when the app started; ask whoever runs the server."
    )
    code = _setup_code(load_settings().effective_database_url)
    with st.form("first-admin"):
        presented = st.text_input("Setup code")
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
            create_first_admin(session, code, presented, email, name, password)
        verified = sign_in_with_password(sessions(), email, password, client_address())
    except AssureError as exc:
        st.error(str(exc))
        return
    st.session_state[PENDING_KEY] = verified
    st.rerun()


def login_page() -> None:
    if st.session_state.get(CODES_KEY) is not None:
        _recovery_codes_step()
        return
    pending = st.session_state.get(PENDING_KEY)
    if isinstance(pending, Verified):
        _second_step(pending)
        return
    st.title("Sign in to PoliceTech Assure")
    try:
        _federated_sign_in()
    except AssureError as exc:
        st.error(str(exc))
    if _oidc_configured():
        _provider_buttons()
        st.divider()
    with st.form("sign-in"):
        email = st.text_input("Email")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    invitation_path()
    if not submitted:
        return
    try:
        verified = sign_in_with_password(sessions(), email, password, client_address())
    except SignInFailed as exc:
        st.error(str(exc))
        return
    if verified.next_step == "done":
        with sessions()() as session:
            principal = principal_for(session, session.get_one(User, verified.user_id))
        _start_session(principal, verified.method)
    else:
        st.session_state[PENDING_KEY] = verified
    st.rerun()


def _cancel() -> None:
    for key in STEP_KEYS:
        st.session_state.pop(key, None)


def _second_step(pending: Verified) -> None:
    if pending.next_step == "enrol":
        _enrolment_step(pending)
        return
    st.title("Two-step verification")
    _notice()
    rp = relying_party()
    if rp is not None:
        _passkey_sign_in(pending, rp)
    st.write("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
    with st.form("second-factor"):
        code = st.text_input("Code", max_chars=24, autocomplete="one-time-code")
        submitted = st.form_submit_button("Verify")
    st.button("Start again", on_click=_cancel)
    if not submitted:
        return
    try:
        principal, method = complete_with_code(sessions(), box(), pending, code, client_address())
    except SignInFailed as exc:
        st.error(str(exc))
        return
    _start_session(principal, method)
    st.rerun()


def _notice() -> None:
    """An error kept across the rerun that replaced a spent passkey ceremony."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.error(escape_markdown(notice))  # a refusal may quote the key's name


def _passkey_sign_in(pending: Verified, rp: RelyingParty) -> None:
    def begin() -> passkeys.Ceremony | None:
        with transaction(sessions()) as session:
            return passkeys.begin_authentication(session, rp, pending.user_id)

    ceremony = held_ceremony(PASSKEY_KEY, pending.user_id, passkeys.AUTHENTICATE, begin)
    if ceremony is None:
        return
    st.write("Use the security key or passkey you registered, or enter a code below.")
    answer = passkey_button("get", ceremony, "Use your security key")
    if isinstance(answer, str):
        st.warning(answer)
    if not isinstance(answer, passkeys.PasskeyAnswer):
        return
    st.session_state.pop(PASSKEY_KEY, None)  # spent, whatever the outcome
    try:
        principal, method = complete_with_passkey(sessions(), rp, pending, answer, client_address())
    except SignInFailed as exc:
        st.session_state[NOTICE_KEY] = str(exc)
        st.rerun()
    _start_session(principal, method)
    st.rerun()


def _enrolment_step(pending: Verified) -> None:
    st.title("Set up two-step verification")
    _notice()
    st.write(
        "Your role needs a second factor. Scan the code with an authenticator app (for "
        "example Microsoft Authenticator or FreeOTP), then enter the 6-digit code it shows."
    )
    enrolment = offer_enrolment(ENROLMENT_KEY, pending.email)
    with st.form("enrol-totp"):
        code = st.text_input("Code from the app", max_chars=10, autocomplete="one-time-code")
        submitted = st.form_submit_button("Confirm")
    st.button("Start again", on_click=_cancel)
    rp = relying_party()
    if rp is not None:
        _passkey_enrolment(pending, rp)
    if not submitted:
        return
    try:
        principal, method, codes = complete_enrolment(
            sessions(), box(), pending, enrolment.secret, code
        )
    except AssureError as exc:
        st.error(str(exc))
        return
    _enrolled(principal, method, codes)


def _enrolled(principal: Principal, method: str, codes: list[str]) -> None:
    st.session_state.pop(ENROLMENT_KEY, None)
    st.session_state.pop(PENDING_KEY, None)
    st.session_state.pop(PASSKEY_KEY, None)
    st.session_state[CODES_KEY] = _CodesToShow(principal, method, tuple(codes))
    st.rerun()


def _passkey_enrolment(pending: Verified, rp: RelyingParty) -> None:
    st.subheader("Or use a security key or passkey")
    st.write(
        "Instead of an app you can register a security key (for example a YubiKey) or your "
        "device's own passkey (Windows Hello, Touch ID, Android)."
    )
    label = st.text_input("Name for this key", value=passkeys.DEFAULT_LABEL, max_chars=60)

    def begin() -> passkeys.Ceremony:
        with transaction(sessions()) as session:
            return passkeys.begin_registration(session, rp, pending.user_id)

    ceremony = held_ceremony(PASSKEY_KEY, pending.user_id, passkeys.REGISTER, begin)
    assert ceremony is not None
    answer = passkey_button("create", ceremony, "Register a security key")
    if isinstance(answer, str):
        st.warning(answer)
    if not isinstance(answer, passkeys.PasskeyAnswer):
        return
    st.session_state.pop(PASSKEY_KEY, None)
    try:
        principal, method, codes = complete_passkey_enrolment(
            sessions(), rp, pending, answer, label
        )
    except AssureError as exc:
        st.session_state[NOTICE_KEY] = str(exc)
        st.rerun()
    _enrolled(principal, method, codes)


def offer_enrolment(state_key: str, email: str) -> mfa.TotpEnrolment:
    """Show the QR code and key of a factor being set up, kept across reruns under `state_key`
    so the secret does not change while the user scans it."""
    enrolment = st.session_state.get(state_key)
    if not isinstance(enrolment, mfa.TotpEnrolment):
        enrolment = mfa.new_enrolment(email)
        st.session_state[state_key] = enrolment
    st.image(enrolment.qr_png, caption="Scan with your authenticator app", width=220)
    st.text("Or enter this key by hand:")
    st.code(enrolment.secret, language=None)
    return enrolment


def _recovery_codes_step() -> None:
    shown: _CodesToShow = st.session_state[CODES_KEY]
    show_recovery_codes(shown.codes)
    if st.button("I have saved my recovery codes"):
        _start_session(shown.principal, shown.method)
        st.rerun()


def show_recovery_codes(codes: tuple[str, ...] | list[str]) -> None:
    st.subheader("Your recovery codes")
    st.write(
        "Each code signs you in once if you lose your authenticator. Keep them somewhere "
        "safe: they are shown only now."
    )
    st.code("\n".join(codes), language=None)


def needs_setup() -> bool:
    with sessions()() as session:
        return not has_admin(session)
