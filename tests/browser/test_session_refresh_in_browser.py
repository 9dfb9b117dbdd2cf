"""A signed-in session survives a refresh (its HttpOnly, SameSite=Strict cookie resumes it), a
deep link opened while signed out leads to its page once signed in, and signing out ends the
cookie's session too: a refresh after it shows the sign-in page."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import Served, screenshot, submit_sign_in


def test_a_refresh_keeps_the_session_and_sign_out_ends_it(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["supplier_admin"][0]
    page.goto(f"{served.url}/findings")  # a deep link, signed out
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    submit_sign_in(page, served, "supplier_admin")
    expect(page.get_by_role("heading", name="Findings").first).to_be_visible(timeout=30_000)
    assert page.url.rstrip("/").endswith("/findings")

    cookie = _session_cookie(page)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"

    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Findings").first).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "findings-after-refresh")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    page.reload()
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"Signed in as {email}")).to_have_count(0)


def _session_cookie(page) -> dict:  # type: ignore[no-untyped-def]
    # The handover runs after the first signed-in page has drawn; give it its moment.
    for _ in range(100):
        found = [c for c in page.context.cookies() if c["name"] == "assure_session"]
        if found:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError("the browser was given no session cookie")
