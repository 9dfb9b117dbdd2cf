"""Browser: a supplier admin opens the guided self-assessment, watches the status preview change
as indicators are ticked (one of two "achieved" indicators is said to count as not achieved),
answers two outcomes, sees progress, reloads mid-journey and is still signed in with the answers
saved, is warned before submitting a partial assessment, confirms, submits, and finds the
product's band on My posture. axe-core reports no serious violation on either page."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
from tests.browser.conftest import Served, screenshot, sign_in
from ui.plain import WORD_JOINER

PROGRESS = re.compile(r"^(\d+) of (\d+) outcomes answered")
BANDS = ("A", "B", "C", "D", "E")


def _one(locator, timeout: int = 30_000):  # type: ignore[no-untyped-def]
    """The locator once exactly one element matches: a rerun leaves stale copies for a while."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(1, timeout=timeout)
    return locator


def _indicator(page, indicator_id: str):  # type: ignore[no-untyped-def]
    name = re.compile(rf"\({re.escape(indicator_id)}\)$")
    return _one(page.get_by_role("checkbox", name=name))


def _tick(page, box, on: bool = True) -> None:  # type: ignore[no-untyped-def]
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


def _unanswered_now(page) -> int:  # type: ignore[no-untyped-def]
    """1 when the chosen outcome has no saved answer yet (saving it adds one), else 0."""
    return page.get_by_text("Saved status: Unanswered.", exact=True).count()


def _preview(page, text: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Until the preview shows `text` (as read: escaping puts word joiners after colons)."""
    alert = _one(page.get_by_test_id("stAlert").filter(has_text="Preview:"))
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        shown = alert.inner_text().replace(WORD_JOINER, "")
        if text in shown:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the preview never said {text!r}; it says {shown!r}")


def _progress(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    bar = _one(page.get_by_text(PROGRESS))
    found = PROGRESS.search(bar.inner_text())
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def _save(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _one(page.get_by_role("button", name="Save answer")).click()
    expect(_one(page.get_by_text("Answer saved."))).to_be_visible(timeout=30_000)
    wait_until_idle(page)


def _choose_outcome(page, outcome_id: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    box = _one(page.get_by_role("combobox", name="Outcome", exact=True))
    box.click()
    # Typing filters the options and opens the list even when the click only focused it.
    box.fill(f"{outcome_id} ")
    page.get_by_role("option", name=re.compile(rf"^{re.escape(outcome_id)} ")).click()
    expect(_one(page.get_by_role("heading", name=re.compile(rf"^{outcome_id} ")))).to_be_visible()
    wait_until_idle(page)


def test_a_supplier_assesses_with_a_live_preview_and_submits_partially(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["supplier_admin"][0]
    sign_in(page, served, "supplier_admin")
    page.get_by_role("link", name="Self-assessment").click()
    expect(page.get_by_role("heading", name="Self-assessment").first).to_be_visible(timeout=30_000)
    # The page's first run (the subject and its target profile) must end before the click, or
    # the click lands on a button the run is about to replace.
    wait_until_idle(page)
    _one(page.get_by_role("button", name="Start or continue the draft")).click()
    expect(_one(page.get_by_text(re.compile(r"^Draft \d+ for ")))).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    assert_accessible(page)
    answered, total = _progress(page)

    # A1.a: one of its two "achieved" indicators is not enough, and the preview says so. (The
    # estate is shared with other journeys: start from nothing ticked whatever they left.)
    _choose_outcome(page, "A1.a")
    adds = _unanswered_now(page)
    for other in ("A1.a.NA1", "A1.a.NA2", "A1.a.PA1", "A1.a.A2"):
        _tick(page, _indicator(page, other), on=False)
    _tick(page, _indicator(page, "A1.a.A1"))
    _preview(page, "Achieved: 1 of its 2 indicators ticked")
    _preview(page, "counts as Not achieved")
    _preview(page, "To count as Achieved, also tick A1.a.A2.")
    _tick(page, _indicator(page, "A1.a.A2"))
    _preview(page, "Preview: Achieved.")
    _save(page)
    answered += adds
    assert _progress(page) == (answered, total)

    # A1.b: the partially-achieved indicator alone.
    _choose_outcome(page, "A1.b")
    adds = _unanswered_now(page)
    for other in ("A1.b.NA1", "A1.b.NA2", "A1.b.A1", "A1.b.A2"):
        _tick(page, _indicator(page, other), on=False)
    _tick(page, _indicator(page, "A1.b.PA1"))
    _preview(page, "Preview: Partially achieved.")
    _save(page)
    answered += adds
    assert _progress(page) == (answered, total)
    expect(_one(page.get_by_text("Saved status: Partially achieved.", exact=True))).to_be_visible()
    screenshot(page, tmp_path, "self-assessment")

    # A reload keeps the session and the draft with its answers.
    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Self-assessment").first).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    assert _progress(page) == (answered, total)
    _choose_outcome(page, "A1.a")
    expect(_indicator(page, "A1.a.A1")).to_be_checked()
    expect(_indicator(page, "A1.a.A2")).to_be_checked()

    # Partial: warned, the button waits for the confirmation naming the count.
    gaps = total - answered
    assert gaps > 0
    submit = _one(page.get_by_role("button", name="Submit the assessment"))
    expect(submit).to_be_disabled()
    expect(_one(page.get_by_text(f"{gaps} of {total} outcomes are unanswered"))).to_be_visible()
    assert_accessible(page)
    _tick(page, _one(page.get_by_role("checkbox", name=f"Submit with {gaps} outcomes unanswered")))
    expect(submit).to_be_enabled(timeout=30_000)
    submit.click()
    expect(_one(page.get_by_text("Submitted for review."))).to_be_visible(timeout=30_000)

    page.goto(f"{served.url}/my-posture")
    # The page is "My posture" in the brief and "Product posture" to suppliers.
    heading = page.get_by_role("heading", name=re.compile(r"^(My|Product) posture$"))
    expect(heading.first).to_be_visible(timeout=30_000)
    band = _one(page.get_by_test_id("stMetric").filter(has_text="Band"), timeout=60_000)
    value = band.get_by_test_id("stMetricValue").inner_text().strip()
    assert value in BANDS, value
    assert_accessible(page)
    screenshot(page, tmp_path, "my-posture-after-assessment")
