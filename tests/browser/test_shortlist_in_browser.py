"""Browser: a buyer builds a shortlist from a lot's listed products and exports it."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.browser.conftest import LISTED, Served, screenshot, sign_in
from tests.browser.widgets import choose, press


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
    expect(page.get_by_text("Requirement created:")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Rank and save a version").click()
    expect(page.get_by_text("Shortlist saved:")).to_be_visible(timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "shortlist.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    assert [int(row["rank"]) for row in rows] == list(range(1, LISTED + 1))
    assert all(row["product"] and row["why"] for row in rows)
    assert screenshot(page, tmp_path, "shortlist").stat().st_size > 10_000


def test_a_buyer_saves_two_versions_reopens_the_first_and_compares_them(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import re

    from playwright.sync_api import expect

    from tests.browser.accessibility import assert_accessible, wait_until_idle

    page = browser_page
    title = "Evidence platform, compared"
    sign_in(page, served, "procurement_officer")
    page.get_by_role("link", name="Shortlists").click()
    expect(page.get_by_role("heading", name="Shortlists")).to_be_visible(timeout=30_000)
    wait_until_idle(page, quiet_ms=1_000)
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Lots").click()
    page.get_by_role("option", name="Digital evidence: Evidence management").click()
    page.keyboard.press("Escape")
    press(page, "Create requirement")
    expect(page.get_by_text(f"Requirement created: {title}.")).to_be_visible(timeout=30_000)
    # The new requirement is the one shown, its listed products named with their suppliers.
    expect(page.get_by_role("combobox", name="Requirement")).to_have_value(title)
    products = page.get_by_test_id("stExpander")
    expect(products).to_have_count(LISTED, timeout=30_000)
    press(page, "Rank and save a version")
    expect(page.get_by_text("Shortlist saved")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Open a saved version")).to_have_value(
        re.compile(r"^Version 1, saved ")
    )

    # Version 2: the first product is cheaper and price weighs more. The rerun after saving
    # must be over: its stale copies of the form linger until it is.
    wait_until_idle(page, quiet_ms=1_000)
    expect(products).to_have_count(LISTED, timeout=30_000)
    first = products.first
    first.locator("summary").click()
    price = first.get_by_label("Price (£)")
    expect(price).to_have_count(1, timeout=30_000)
    price.fill("250")
    page.get_by_label("Security posture (%)", exact=True).fill("20")
    page.get_by_label("Price (%)", exact=True).fill("40")
    press(page, "Rank and save a version")
    expect(page.get_by_text("Shortlist saved")).to_be_visible(timeout=30_000)
    opened = page.get_by_role("combobox", name="Open a saved version")
    expect(opened).to_have_value(re.compile(r"^Version 2, saved "), timeout=30_000)

    page.reload()
    expect(
        page.get_by_text(f"Signed in as {served.logins['procurement_officer'][0]}")
    ).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Shortlists")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Requirement")).to_have_value(title)

    # The list of versions: who saved each and by which weights.
    versions = page.locator("[role=row]", has_text="security posture 20%, PQC readiness 10%")
    expect(versions.first).to_be_attached(timeout=30_000)
    choose(page, "Open a saved version", re.compile(r"^Version 1, saved "))
    expect(
        page.get_by_text(re.compile(r"^Version 1 as saved .* weights: security posture 40%"))
    ).to_be_visible(timeout=30_000)
    # Compared: version 1 against version 2, the weights that changed and what moved.
    expect(page.get_by_text("From version 1 to version 2")).to_be_visible(timeout=30_000)
    expect(
        page.get_by_text(
            "Weights changed: security posture weighs 20% (was 40%); price weighs 40% (was 20%)."
        )
    ).to_be_visible()
    assert_accessible(page)
    screenshot(page, tmp_path, "shortlist-versions-compared")
