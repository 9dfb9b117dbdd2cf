"""The platform administrator, in Chromium, invites a newcomer into the College of Policing as a
challenge judge and reads the code once; a refresh midway keeps them signed in. The newcomer
makes their account on the sign-in page with the code, signs in and finds Judging."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
from tests.browser.conftest import Served, screenshot, sign_in

INVITEE = "nia.judge@college-of-policing.police.example"
PASSWORD = "a long and unusual passphrase"
COLLEGE = re.compile(r"^College of Policing \(national body")


def _choose(page, label: str, typed: str, option: re.Pattern[str] | str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    box = page.get_by_role("combobox", name=label)
    expect(box).to_have_count(1, timeout=30_000)
    box.click()
    page.keyboard.type(typed)  # narrows a long list, as a user would
    choice = page.get_by_role("option", name=option)
    expect(choice.first).to_be_visible(timeout=30_000)
    choice.first.click()


def test_the_administrator_invites_a_judge_who_signs_in_to_judging(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    admin = served.logins["platform_admin"][0]
    sign_in(page, served, "platform_admin")
    page.get_by_role("link", name="Administration").click()
    heading = page.get_by_role("heading", name="Administration")
    expect(heading).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Users")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("people match")).to_be_visible(timeout=30_000)
    assert_accessible(page)
    screenshot(page, tmp_path, "administration-users")

    page.reload()  # mid-journey: the session cookie keeps the administrator signed in, here
    expect(page.get_by_text(f"Signed in as {admin}")).to_be_visible(timeout=30_000)
    expect(heading).to_be_visible(timeout=30_000)
    assert page.url.rstrip("/").endswith("/administration")

    page.get_by_role("tab", name="Invitations").click()
    _choose(page, "Organisation to join", "College of Policing", COLLEGE)
    role_box = page.get_by_role("combobox", name="Their role")
    # The roles a national body holds, once the page has rerun for the choice (the box for
    # the first organisation's roles has gone).
    expect(role_box).to_have_count(1, timeout=30_000)
    expect(role_box).to_have_value("National assessor", timeout=30_000)
    _choose(page, "Their role", "judge", "Challenge judge")
    expect(role_box).to_have_value("Challenge judge", timeout=30_000)
    page.get_by_label("Their e-mail address").fill(INVITEE)
    page.get_by_role("button", name="Create the invitation").click()
    code_box = page.locator("[data-testid='stCode'] code")
    expect(code_box).to_have_count(1, timeout=30_000)
    code = code_box.inner_text().strip()
    assert len(code) >= 32
    expect(page.get_by_text("shown only this once")).to_be_visible(timeout=30_000)
    note = f"For {INVITEE}, to join College of Policing as challenge judge"
    expect(page.get_by_text(note)).to_be_visible()
    screenshot(page, tmp_path, "administration-invitation-code")
    page.get_by_role("button", name="I have copied it").click()
    expect(code_box).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)

    wait_until_idle(page)  # signing out reruns the page: a click during it would be lost
    page.get_by_text("I have an invitation").click()
    expect(page.get_by_label("Invitation code")).to_have_count(1, timeout=30_000)
    page.get_by_label("Invitation code").fill(code)
    page.get_by_label("Your name").fill("Nia Judge")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("is ready: sign in above")).to_be_visible(timeout=30_000)

    page.get_by_label("Email").fill(INVITEE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {INVITEE}")).to_be_visible(timeout=30_000)
    judging = page.get_by_role("link", name="Judging")
    expect(judging).to_be_visible(timeout=30_000)
    judging.click()
    expect(page.get_by_role("heading", name="Judging").first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    screenshot(page, tmp_path, "invited-judge")
