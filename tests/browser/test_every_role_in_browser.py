"""Every demo role signs in straight to its main page (a deep link), which axe-core finds free of
serious violations, and a refresh keeps them signed in there.

The roles whose own journey already does all of that on this page (the administrator, the
supplier admin, the force assessor, the buyer, the challenge manager and judge) are captured here
only on demand: set ASSURE_SCREENSHOTS to make the README's captures of every role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posture.storage.models.enums import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import Served, screenshot, submit_sign_in

# Each role's daily page: its address and the heading it opens with.
MAIN_PAGES: dict[str, tuple[str, str]] = {
    "platform_admin": ("administration", "Administration"),
    "supplier_admin": ("my-posture", "Product posture"),
    "supplier_member": ("self-assessment", "Self-assessment"),
    "force_assessor": ("dashboards", "Posture dashboards"),
    "siro": ("risk-decisions", "Risk decisions"),
    "national_assessor": ("review-queue", "Review queue"),
    "procurement_officer": ("shortlists", "Shortlists"),
    "challenge_manager": ("manage-challenges", "Manage challenges"),
    "challenge_judge": ("judging", "Judging"),
}
# Signed in, checked with axe-core and refreshed by their own journeys (test_*_in_browser.py).
JOURNEYED = {
    "platform_admin",
    "supplier_admin",
    "force_assessor",
    "procurement_officer",
    "challenge_manager",
    "challenge_judge",
}
CAPTURING = bool(os.environ.get("ASSURE_SCREENSHOTS"))


def test_every_role_has_a_main_page_and_a_demo_login(served: Served) -> None:
    roles = {role.value for role in Role}
    assert set(MAIN_PAGES) == roles
    assert roles <= set(served.logins)  # journeys may add logins of their own


@pytest.mark.parametrize(
    "role",
    [
        pytest.param(
            role,
            marks=pytest.mark.skipif(
                role in JOURNEYED and not CAPTURING,
                reason="its own journey signs in, refreshes and runs axe-core on this page",
            ),
        )
        for role in sorted(MAIN_PAGES)
    ],
)
def test_a_role_opens_its_main_page_accessibly_and_a_refresh_keeps_it(
    served: Served, browser_page, tmp_path: Path, role: str
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    path, heading = MAIN_PAGES[role]
    page.goto(f"{served.url}/{path}")
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    submit_sign_in(page, served, role)
    title = page.get_by_role("heading", name=heading, exact=True).first
    expect(title).to_be_visible(timeout=30_000)
    assert_accessible(page)
    page.reload()
    expect(page.get_by_text(f"Signed in as {served.logins[role][0]}")).to_be_visible(timeout=30_000)
    expect(title).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, f"role-{role.replace('_', '-')}")
