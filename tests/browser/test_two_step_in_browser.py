"""Two-step verification in Chromium: a newcomer sets up the platform with the console code, and
an assessor whose role needs a second factor enrols, signs out, and signs in with a code."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, Served, screenshot, sign_in
from tests.cli import assure
from tests.peers.processes import free_port, serving

PASSWORD = "a long and unusual passphrase"


def test_an_assessor_enrols_then_signs_in_with_a_code(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["national_assessor"][0]
    sign_in(page, served, "national_assessor")  # first sign-in: enrolment
    assert email in served.totp
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(served.logins["national_assessor"][1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Two-step verification", exact=True)).to_be_visible(timeout=30_000)
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("sign-in failed")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"Signed in as {email}")).to_have_count(0)

    page.get_by_label("Code").fill(served.next_code(email))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Account security").click()
    expect(page.get_by_text("Two-step verification is on")).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "two-step-account")


@pytest.fixture
def fresh_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    console = tmp_path / "console.log"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"]
    with serving(argv, env, f"{url}/_stcore/health", console=console):
        yield url, console


def _console_code(console: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.findall(r"First-run setup code: ([A-Z0-9-]+)", console.read_text())
        if found:
            return found[-1]
        time.sleep(0.3)
    raise AssertionError("the server printed no setup code")


def test_a_newcomer_sets_up_the_platform_with_the_console_code(
    fresh_server, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, console = fresh_server
    page = browser_page
    page.goto(url)
    expect(page.get_by_text("Set up PoliceTech Assure")).to_be_visible(timeout=30_000)
    fields = {
        "Setup code": "AAAAA-BBBBB-CCCCC-DDDDD",
        "Email": "first@assure.police.example",
        "Name": "First Admin",
        "Password (at least 12 characters)": PASSWORD,
        "Repeat the password": PASSWORD,
    }
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("setup code is not right")).to_be_visible(timeout=30_000)

    page.get_by_label("Setup code").fill(_console_code(console))
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("Set up two-step verification")).to_be_visible(timeout=30_000)
    served = Served(url, {"platform_admin": ("first@assure.police.example", PASSWORD)})
    email = "first@assure.police.example"
    served.totp[email] = page.locator("[data-testid='stCode'] code").first.inner_text()
    page.get_by_label("Code from the app").fill(served.next_code(email))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="I have saved my recovery codes").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "first-run-done")
