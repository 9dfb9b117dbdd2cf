"""Account security: the signed-in user's second factors (an authenticator app, security keys)
and recovery codes. Every change asks for the password and a current second factor again (a
code, or one of their keys), so an unattended session cannot take them over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from kernel.errors import AssureError
from posture.identity import mfa, passkeys
from posture.identity.accounts import actor_of
from posture.identity.passkeys import PasskeyAnswer, RelyingParty
from posture.identity.permissions import Principal
from posture.identity.signin import reauthenticate
from posture.storage.engine import transaction
from ui import auth
from ui.components.passkey import held_ceremony, passkey_button
from ui.context import principal as current_principal
from ui.context import show_flash
from ui.invitation_form import join_with_code
from ui.notification_preferences import notification_preferences
from ui.plain import escape_markdown, plain
from ui.runtime import sessions

ENROL_KEY = "assure_account_enrolment"
NEW_CODES_KEY = "assure_account_new_codes"
NOTICE_KEY = "assure_account_notice"
PROOF_CEREMONY_KEY = "assure_account_proof_ceremony"
PROOF_KEY = "assure_account_passkey_proof"
REGISTER_KEY = "assure_account_registration"

ADD_APP = "Add an authenticator app"
NEW_CODES = "Make new recovery codes"
REMOVE_APP = "Remove the authenticator app"
ADD_KEY = "Add a security key"
REMOVE_KEY = "Remove a security key"


@dataclass(frozen=True)
class _Factors:
    app: bool
    keys: tuple[tuple[int, str, datetime, datetime | None], ...]  # id, label, added, last used
    codes_left: int

    @property
    def any(self) -> bool:
        return self.app or bool(self.keys)


@dataclass(frozen=True)
class _Registration:
    """A key being added: the ceremony was issued only after the user re-authenticated."""

    ceremony: passkeys.Ceremony
    label: str


def _factors(user_id: int) -> _Factors:
    with sessions()() as session:
        keys = tuple(
            (key.id, key.label, key.created_at, key.last_used_at)
            for key in passkeys.passkeys_of(session, user_id)
        )
        app = mfa.has_factor(session, user_id)
        left = mfa.recovery_codes_left(session, user_id) if app or keys else 0
    return _Factors(app, keys, left)


def account_page() -> None:
    st.title("Account security")
    show_flash()
    principal = current_principal()
    st.text(f"Signed in as {principal.email}")
    factors = _factors(principal.user_id)
    rp = auth.relying_party()
    codes = st.session_state.pop(NEW_CODES_KEY, None)
    if codes:
        auth.show_recovery_codes(codes)
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(escape_markdown(notice))  # a refusal may quote the key's name
    if factors.any:
        st.success(f"Two-step verification is on. Recovery codes left: {factors.codes_left}.")
        if factors.codes_left <= 3:
            st.warning("Few recovery codes are left: make new ones.")
    elif mfa.mfa_required(principal.roles()):
        st.warning("Your role needs two-step verification; set it up at your next sign-in.")
    _list_keys(factors)
    registration = st.session_state.get(REGISTER_KEY)
    if isinstance(registration, _Registration) and rp is not None:
        _register_key(principal, rp, registration)
        return
    _change(principal, factors, rp)
    notification_preferences(principal)
    join_with_code(principal)


def _list_keys(factors: _Factors) -> None:
    if not factors.keys:
        return
    st.subheader("Security keys")
    st.dataframe(
        [
            {
                "Name": label,
                "Added": added.strftime("%d %b %Y"),
                "Last used": used.strftime("%d %b %Y %H:%M") if used else "never",
            }
            for _, label, added, used in factors.keys
        ],
        hide_index=True,
    )


def _changes(factors: _Factors, rp: RelyingParty | None) -> list[str]:
    changes = [NEW_CODES, REMOVE_APP] if factors.app else [ADD_APP]
    if not factors.app and factors.keys:
        changes.append(NEW_CODES)
    if rp is not None and len(factors.keys) < passkeys.MAX_PASSKEYS:
        changes.append(ADD_KEY)
    if factors.keys:
        changes.append(REMOVE_KEY)
    return changes


def _change(principal: Principal, factors: _Factors, rp: RelyingParty | None) -> None:
    change = st.radio("Change", _changes(factors, rp), index=0)
    enrolment = auth.offer_enrolment(ENROL_KEY, principal.email) if change == ADD_APP else None
    proof = _passkey_proof(principal, factors, rp)
    with st.form("change-factor"):
        new_code = label = ""
        key_id = None
        if change == ADD_APP:
            new_code = st.text_input("Code from the app", max_chars=10)
        elif change == ADD_KEY:
            label = st.text_input("Name for the new key", value="Security key", max_chars=60)
        elif change == REMOVE_KEY:
            labels = {key[0]: key[1] for key in factors.keys}
            key_id = st.selectbox("Key to remove", list(labels), format_func=labels.__getitem__)
        st.write(_proof_prompt(factors, proof is not None))
        password = st.text_input("Password", type="password")
        code = ""
        if factors.any and proof is None:
            code = st.text_input(
                "Current code from your authenticator app, or a recovery code", max_chars=24
            )
        submitted = st.form_submit_button("Confirm")
    if not submitted:
        return
    if proof is not None:
        # The key's answer is spent by this attempt, whatever its outcome.
        st.session_state.pop(PROOF_KEY, None)
        st.session_state.pop(PROOF_CEREMONY_KEY, None)
    try:
        reauthenticate(
            sessions(),
            auth.box(),
            principal.user_id,
            password,
            code,
            auth.client_address(),
            passkey=(rp, proof) if rp is not None and proof is not None else None,
        )
        _apply(principal, change, rp, enrolment, new_code, label, key_id)
    except AssureError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _proof_prompt(factors: _Factors, key_answered: bool) -> str:
    if not factors.any:
        return "Confirm it is you: your password."
    if key_answered:
        return "Your security key answered. Confirm with your password."
    return "Confirm it is you: your password and a current code (or use your security key)."


def _passkey_proof(
    principal: Principal, factors: _Factors, rp: RelyingParty | None
) -> PasskeyAnswer | None:
    """A security key's answer, as the second half of re-authentication. It is taken outside
    the form and held (server-side) until the form is confirmed with the password."""
    if rp is None or not factors.keys:
        return None
    held = st.session_state.get(PROOF_KEY)
    if isinstance(held, PasskeyAnswer):
        return held

    def begin() -> passkeys.Ceremony | None:
        with transaction(sessions()) as session:
            return passkeys.begin_authentication(session, rp, principal.user_id)

    ceremony = held_ceremony(PROOF_CEREMONY_KEY, principal.user_id, passkeys.AUTHENTICATE, begin)
    if ceremony is None:
        return None
    answer = passkey_button("get", ceremony, "Confirm with your security key")
    if isinstance(answer, str):
        st.warning(answer)
        return None
    if answer is not None:
        st.session_state[PROOF_KEY] = answer
    return answer


def _apply(
    principal: Principal,
    change: str,
    rp: RelyingParty | None,
    enrolment: mfa.TotpEnrolment | None,
    new_code: str,
    label: str,
    key_id: int | None,
) -> None:
    """Make the change the user just re-authenticated for."""
    actor = actor_of(principal)
    with transaction(sessions()) as session:
        if change == ADD_APP and enrolment is not None:
            codes = mfa.confirm_enrolment(
                session, auth.box(), actor, principal.user_id, enrolment.secret, new_code
            )
            st.session_state.pop(ENROL_KEY, None)
            st.session_state[NEW_CODES_KEY] = codes
        elif change == NEW_CODES:
            st.session_state[NEW_CODES_KEY] = mfa.regenerate_recovery_codes(session, principal)
        elif change == REMOVE_APP:
            mfa.remove_factor(session, actor, principal.user_id, "removed by its owner")
        elif change == REMOVE_KEY and key_id is not None:
            passkeys.remove_passkey(session, actor, principal.user_id, key_id)
            st.session_state[NOTICE_KEY] = "The security key was removed."
        elif change == ADD_KEY and rp is not None:
            ceremony = passkeys.begin_registration(session, rp, principal.user_id)
            st.session_state[REGISTER_KEY] = _Registration(ceremony, label)


def _register_key(principal: Principal, rp: RelyingParty, registration: _Registration) -> None:
    st.subheader("Register your security key")
    plain(f"Registering a key named: {passkeys.clean_label(registration.label)}")
    answer = passkey_button("create", registration.ceremony, "Register your security key")
    st.button("Cancel", on_click=lambda: st.session_state.pop(REGISTER_KEY, None))
    if isinstance(answer, str):
        st.warning(answer)
    if not isinstance(answer, PasskeyAnswer):
        return
    st.session_state.pop(REGISTER_KEY, None)
    with transaction(sessions()) as session:
        outcome = passkeys.register(
            session, rp, actor_of(principal), principal.user_id, answer, registration.label
        )
    if outcome.refusal is not None:
        st.session_state[NOTICE_KEY] = outcome.refusal.capitalize() + "."
    else:
        st.session_state[NOTICE_KEY] = "The security key was added."
        st.session_state[NEW_CODES_KEY] = outcome.recovery_codes
    st.rerun()
