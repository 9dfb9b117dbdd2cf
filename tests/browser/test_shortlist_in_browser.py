"""Browser: a buyer builds a shortlist from a lot's listed products and exports it."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.browser.conftest import LISTED, Served, screenshot, sign_in


def test_a_buyer_builds_ranks_and_exports_a_shortlist(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, served, "procurement_officer")
    page.get_by_role("link", name="Shortlists").click()
    expect(page.get_by_role("heading", name="Shortlists")).to_be_visible(timeout=30_000)
    page.get_by_label("Title").fill("Control room evidence platform")
    page.get_by_label("Lots").click()
    page.get_by_role("option", name="Evidence management").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Create requirement").click()
    expect(page.get_by_text("Requirement created.")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Rank and save a version").click()
    expect(page.get_by_text("Shortlist saved.")).to_be_visible(timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "shortlist.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert [int(row["rank"]) for row in rows] == list(range(1, LISTED + 1))
    assert all(row["product"] and row["why"] for row in rows)
    assert screenshot(page, tmp_path, "shortlist").stat().st_size > 10_000
