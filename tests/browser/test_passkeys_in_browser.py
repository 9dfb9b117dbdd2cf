"""Passkeys in Chromium with a virtual authenticator (CDP WebAuthn domain): an administrator,
whose role needs a second factor, registers a security key instead of an app, signs out and
signs in with it; without the registered key (none at all, or a clone that lags behind) no one
gets in. The app runs on http://localhost: browsers refuse passkeys on an IP address."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, screenshot
from tests.cli import assure
from tests.peers.processes import free_port, serving

EMAIL, PASSWORD = "keys@assure.police.example", "a long and unusual passphrase"
KEY_FRAME = "iframe[title$='.passkey']"  # Streamlit titles a component's frame with its name


@dataclass(frozen=True)
class KeyServer:
    url: str
    env: dict[str, str]


@pytest.fixture
def key_server(tmp_path: Path) -> Iterator[KeyServer]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    created = assure(
        *("admin", "create", "--email", EMAIL, "--name", "Key Holder", "--password-stdin"),
        env=env,
        input_text=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    env["ASSURE_WEBAUTHN_ORIGIN"] = f"http://localhost:{port}"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "0"]
    console = tmp_path / "console.log"  # what the server printed, for a failure's reader
    with serving(argv, env, f"http://127.0.0.1:{port}/_stcore/health", console=console):
        yield KeyServer(f"http://localhost:{port}", env)


@dataclass(frozen=True)
class VirtualAuthenticator:
    cdp: Any
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return answer["credentials"]

    def clear(self) -> None:
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.authenticator_id})

    def add(self, credential: dict[str, Any]) -> None:
        params = {"authenticatorId": self.authenticator_id, "credential": credential}
        self.cdp.send("WebAuthn.addCredential", params)

    def set_touched(self, touched: bool) -> None:
        """Whether it answers at once, as if touched, or waits for a touch that never comes."""
        params = {"authenticatorId": self.authenticator_id, "enabled": touched}
        self.cdp.send("WebAuthn.setAutomaticPresenceSimulation", params)

    def another(self, transport: str) -> VirtualAuthenticator:
        return _virtual_authenticator(self.cdp, transport)


def add_virtual_authenticator(page) -> VirtualAuthenticator:  # type: ignore[no-untyped-def]
    """A platform authenticator that answers at once, as if the user touched it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    return _virtual_authenticator(cdp, "internal")


def _virtual_authenticator(cdp: Any, transport: str) -> VirtualAuthenticator:
    options = {
        "protocol": "ctap2",
        "transport": transport,
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return VirtualAuthenticator(cdp, added["authenticatorId"])


def _password_step(page, url: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _enrol_a_key(page, server: KeyServer) -> None:  # type: ignore[no-untyped-def]
    """First sign-in: the role must enrol, and chooses a security key over an app."""
    from playwright.sync_api import expect

    _password_step(page, server.url)
    expect(page.get_by_text("Or use a security key or passkey")).to_be_visible(timeout=30_000)
    page.frame_locator(KEY_FRAME).get_by_role("button", name="Register a security key").click()
    saved = page.get_by_role("button", name="I have saved my recovery codes")
    expect(saved).to_be_visible(timeout=30_000)
    saved.click()
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible(timeout=30_000)


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)


def _use_the_key(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(page.get_by_text("Two-step verification", exact=True)).to_be_visible(timeout=30_000)
    page.frame_locator(KEY_FRAME).get_by_role("button", name="Use your security key").click()


def _confirm_with_the_key(page) -> None:  # type: ignore[no-untyped-def]
    """Re-authenticate on Account security: the key first, then the password."""
    from playwright.sync_api import expect

    # Until a rerun ends, the key's frame drawn before it may still be on the page beside it.
    expect(page.locator(KEY_FRAME)).to_have_count(1, timeout=30_000)
    page.frame_locator(KEY_FRAME).get_by_role(
        "button", name="Confirm with your security key"
    ).click()
    prompt = page.get_by_text("Your security key answered. Confirm with your password.")
    expect(prompt).to_be_visible(timeout=30_000)
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_count(1)  # the form before the key answered has gone
    password.fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()


def _audited(env: dict[str, str], action: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.models import AuditEvent

    engine = build_engine(load_settings(env))
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
            return [event.shown_data for event in rows]
    finally:
        engine.dispose()


def test_an_admin_registers_a_security_key_then_signs_in_with_it(
    key_server: KeyServer, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    authenticator = add_virtual_authenticator(page)
    _enrol_a_key(page, key_server)
    [credential] = authenticator.credentials()
    assert credential["rpId"] == "localhost"
    page.get_by_role("link", name="Account security").click()
    expect(page.get_by_text("Two-step verification is on")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Security keys", exact=True)).to_be_visible()

    _sign_out(page)
    _password_step(page, key_server.url)
    _use_the_key(page)
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "passkey-signed-in")
    assert [data["method"] for data in _audited(key_server.env, "auth.login")] == [
        "password+webauthn",
        "password+webauthn",
    ]
    assert _audited(key_server.env, "mfa.passkey_registered")[0]["label"] == "Security key"


def test_without_the_registered_key_no_one_signs_in(
    key_server: KeyServer, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    authenticator = add_virtual_authenticator(page)
    _enrol_a_key(page, key_server)
    [registered] = authenticator.credentials()
    _sign_out(page)

    # The key is gone: the browser finds no credential the server asked for.
    authenticator.clear()
    _password_step(page, key_server.url)
    _use_the_key(page)
    expect(page.get_by_text("did not answer, or it is not one registered")).to_be_visible(
        timeout=30_000
    )
    screenshot(page, tmp_path, "passkey-no-key")

    # A clone of the key whose counter lags behind the original's: the browser signs, and the
    # server refuses the answer and counts it as a failed sign-in.
    assert registered["signCount"] >= 1  # what the server stored at registration
    clone = {name: registered[name] for name in ("credentialId", "rpId", "privateKey")}
    lagging = registered["signCount"] - 1
    authenticator.add({**clone, "isResidentCredential": False, "signCount": lagging})
    page.frame_locator(KEY_FRAME).get_by_role("button", name="Use your security key").click()
    expect(page.get_by_text("sign-in failed")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_have_count(0)
    [refusal] = _audited(key_server.env, "auth.mfa_failed")
    assert "sign count of 1 was not greater than current count of 1" in refusal["reason"]
    assert len(_audited(key_server.env, "auth.login")) == 1  # the enrolment only


def test_a_second_key_is_added_and_the_first_removed_after_confirming_it_is_you(
    key_server: KeyServer, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    authenticator = add_virtual_authenticator(page)
    _enrol_a_key(page, key_server)
    page.get_by_role("link", name="Account security").click()
    expect(page.get_by_text("Two-step verification is on")).to_be_visible(timeout=30_000)

    page.get_by_text("Add a security key").click()
    page.get_by_label("Name for the new key").fill("Spare key")
    _confirm_with_the_key(page)
    register = page.frame_locator(KEY_FRAME).get_by_role(
        "button", name="Register your security key"
    )
    expect(register).to_be_visible(timeout=30_000)
    # The first key would refuse (it is registered already); a new USB key answers instead.
    spare = authenticator.another("usb")
    authenticator.set_touched(False)
    register.click()
    expect(page.get_by_text("The security key was added.")).to_be_visible(timeout=30_000)
    assert len(spare.credentials()) == 1
    authenticator.set_touched(True)
    spare.set_touched(False)

    page.get_by_text("Remove a security key").click()
    expect(page.get_by_label("Key to remove")).to_be_visible(timeout=30_000)
    # Until the rerun ends, the form drawn for adding a key may still be on the page beside it.
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_count(1, timeout=30_000)
    password.fill("not the password")
    page.get_by_label("Current code from your authenticator app, or a recovery code").fill("0")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("sign-in failed")).to_be_visible(timeout=30_000)
    _confirm_with_the_key(page)
    expect(page.get_by_text("The security key was removed.")).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "passkey-account")
    assert [data["label"] for data in _audited(key_server.env, "mfa.passkey_removed")] == [
        "Security key"
    ]
    assert len(_audited(key_server.env, "auth.reauthentication_failed")) == 1
