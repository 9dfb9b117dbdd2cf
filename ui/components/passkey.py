"""The passkey button: one WebAuthn ceremony in the browser, as a Streamlit component.

A component (API version 1) runs in an iframe that Streamlit serves from the app's own origin
with `allow-same-origin`. Streamlit's iframe `allow` list grants `publickey-credentials-get`, and
`publickey-credentials-create` is allowed by default to a frame of the page's own origin, so both
navigator.credentials.get() and .create() work in it (checked in Chromium), and the browser
signs the app's own origin into the answer. The page only carries the answer back; the server
verifies it (posture.identity.passkeys).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Literal

import streamlit as st
import streamlit.components.v1 as components

from kernel.clock import utcnow
from posture.identity.passkeys import Ceremony, PasskeyAnswer

FRONTEND = Path(__file__).parent / "passkey_frontend"
# A ceremony about to expire is replaced before it is shown, so a prompt is not started on a
# challenge the server will refuse.
FRESH_FOR = timedelta(seconds=30)

# What the browser reports when a ceremony fails, in words; other names get the general line.
_BROWSER_REFUSALS = {
    "NotAllowedError": (
        "The security key did not answer, or it is not one registered to this account. "
        "Try again, or use another way."
    ),
    "InvalidStateError": "That security key is already registered to your account.",
    "SecurityError": (
        "The browser will not use security keys on this address. Open the app on its usual "
        "address, or ask the administrator to check ASSURE_WEBAUTHN_ORIGIN."
    ),
    "NotSupportedError": "This browser cannot use security keys here.",
}


def passkey_button(
    mode: Literal["create", "get"], ceremony: Ceremony, label: str
) -> PasskeyAnswer | str | None:
    """Show a button that runs the ceremony. Returns the browser's answer once it came, a
    sentence saying why the browser gave none, or None while nothing has happened."""
    # Declared on each use: the registry belongs to the running Streamlit runtime, and a module
    # imported under an earlier runtime (tests start several) registered it there.
    component = components.declare_component("passkey", path=str(FRONTEND))
    value = component(
        mode=mode,
        options=ceremony.options_json,
        ceremony=ceremony.tag,
        label=label,
        waiting="Follow your browser's prompt to use your security key.",
        answered="Your security key answered.",
        failed="",  # the page says why, below the button
        key=f"passkey-{ceremony.tag}",
        default=None,
    )
    if not isinstance(value, dict) or value.get("ceremony") != ceremony.tag:
        return None
    if "credential" in value:
        return PasskeyAnswer(ceremony.handle, json.dumps(value["credential"]))
    error = value.get("error")
    general = "The security key did not answer. Try again, or use another way."
    return _BROWSER_REFUSALS.get(error, general) if isinstance(error, str) else general


def held_ceremony(
    state_key: str, user_id: int, purpose: str, begin: Callable[[], Ceremony | None]
) -> Ceremony | None:
    """The ceremony kept in the page state under `state_key`, or a new one from `begin` when
    there is none for this user and purpose or it is about to expire. The handle stays on the
    server; spending it is the caller's business (drop it from the state once answered)."""
    held = st.session_state.get(state_key)
    usable = (
        isinstance(held, Ceremony)
        and held.user_id == user_id
        and held.purpose == purpose
        and held.expires_at - FRESH_FOR > utcnow()
    )
    if not usable:
        held = begin()
        st.session_state[state_key] = held
    return held
