"""Browser: a national assessor signs in, opens the posture dashboards and their alerts."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import Served, screenshot, sign_in


def test_an_assessor_signs_in_and_opens_the_dashboards(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, served, "national_assessor")
    page.get_by_role("link", name="Posture dashboards").click()
    expect(page.get_by_role("heading", name="Posture dashboards")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("20 products match")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Forces and objectives").click()
    expect(page.get_by_text("Weakest objectives across the estate")).to_be_visible()
    # The second snapshot run moved some products between bands: each move raised an alert.
    page.get_by_role("tab", name="Alerts").click()
    # Grid cells are drawn on a canvas; their accessible twins carry the text.
    cells = page.locator("[role=gridcell]", has_text="MON-BAND-CHANGE")
    expect(cells.first).to_be_attached(timeout=30_000)
    expect(page.get_by_role("button", name="Acknowledge alert")).to_be_visible()
    assert screenshot(page, tmp_path, "dashboards").stat().st_size > 10_000
