"""Driving the self-assessment page from Playwright: choosing an outcome, ticking its
indicators as a person does, reading the live preview, saving; shared by the journeys that
assess."""

from __future__ import annotations

import re
import time

from tests.browser.accessibility import wait_until_idle
from ui.plain import WORD_JOINER


def one(locator, timeout: int = 30_000):  # type: ignore[no-untyped-def]
    """The locator once exactly one element matches: a rerun leaves stale copies for a while."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(1, timeout=timeout)
    return locator


def indicator(page, indicator_id: str):  # type: ignore[no-untyped-def]
    name = re.compile(rf"\({re.escape(indicator_id)}\)$")
    return one(page.get_by_role("checkbox", name=name))


def tick(page, box, on: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Tick (or untick) as a person does, on the label (Streamlit's label covers the input);
    nothing is clicked when the box already shows that."""
    from playwright.sync_api import expect

    if box.is_checked() == on:
        return
    box.locator("xpath=ancestor::label[1]").click()
    if on:
        expect(box).to_be_checked(timeout=30_000)
    else:
        expect(box).not_to_be_checked(timeout=30_000)
    wait_until_idle(page)


def preview(page, text: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Until the preview shows `text` (as read: escaping puts word joiners after colons)."""
    alert = one(page.get_by_test_id("stAlert").filter(has_text="Preview:"))
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        shown = alert.inner_text().replace(WORD_JOINER, "")
        if text in shown:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the preview never said {text!r}; it says {shown!r}")


def save(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    one(page.get_by_role("button", name="Save answer")).click()
    expect(one(page.get_by_text("Answer saved."))).to_be_visible(timeout=30_000)
    wait_until_idle(page)


def choose_outcome(page, outcome_id: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    box = one(page.get_by_role("combobox", name="Outcome", exact=True))
    box.click()
    # Typing filters the options and opens the list even when the click only focused it.
    box.fill(f"{outcome_id} ")
    page.get_by_role("option", name=re.compile(rf"^{re.escape(outcome_id)} ")).click()
    expect(one(page.get_by_role("heading", name=re.compile(rf"^{outcome_id} ")))).to_be_visible()
    wait_until_idle(page)
