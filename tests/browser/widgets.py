"""Driving Streamlit widgets from Playwright without losing an action to a rerun: a rerun that
starts while a select box's list is open closes it, and a click on a button drawn by the run
being replaced is lost with it (the session handover after sign-in and a reload both rerun)."""

from __future__ import annotations

from typing import Any

from tests.browser.accessibility import wait_until_idle

QUIET_MS = 1_000


def choose(page: Any, label: str, option: Any) -> None:
    """Pick `option` (a name or a pattern) from the select box `label`, opening it again if a
    rerun closed it."""
    for _ in range(5):
        wait_until_idle(page, quiet_ms=QUIET_MS)
        page.get_by_role("combobox", name=label, exact=True).click()
        choice = page.get_by_role("option", name=option).first
        try:
            choice.wait_for(timeout=5_000)
            choice.click()
            return
        except Exception:  # the list closed under us: open it again
            page.keyboard.press("Escape")
    raise AssertionError(f"no option {option!r} in {label!r}")


def press(page: Any, name: str) -> None:
    """Click the button `name` once the page is quiet."""
    wait_until_idle(page, quiet_ms=QUIET_MS)
    page.get_by_role("button", name=name, exact=True).click()
