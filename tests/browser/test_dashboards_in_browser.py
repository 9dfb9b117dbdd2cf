"""Browser: a national assessor signs in, opens the posture dashboards and their alerts; each
tab passes axe-core; a filtered league table downloads exactly the rows the filters keep."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
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
    assert_accessible(page)
    page.get_by_role("tab", name="Forces and objectives").click()
    expect(page.get_by_text("Weakest objectives across the estate")).to_be_visible()
    # Objectives by name beside their letter.
    expect(
        page.locator("[role=gridcell]", has_text=re.compile(r"^[A-E] \w+")).first
    ).to_be_attached(timeout=30_000)
    assert_accessible(page)
    page.get_by_role("tab", name="Trends").click()
    expect(
        page.get_by_role("heading", name="Products in each band by snapshot run")
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Products per band: "))).to_be_visible()
    assert_accessible(page)
    screenshot(page, tmp_path, "dashboards-trends")
    for tab in ("Post-quantum migration", "Concentration", "Findings by age"):
        page.get_by_role("tab", name=tab).click()
        assert_accessible(page)
    # The second snapshot run moved some products between bands: each move raised an alert.
    page.get_by_role("tab", name=re.compile(r"^Alerts")).click()
    # Grid cells are drawn on a canvas; their accessible twins carry the text.
    cells = page.locator("[role=gridcell]", has_text="MON-BAND-CHANGE")
    expect(cells.first).to_be_attached(timeout=30_000)
    expect(page.get_by_role("button", name="Acknowledge alert")).to_be_visible()
    assert_accessible(page)
    assert screenshot(page, tmp_path, "dashboards").stat().st_size > 10_000


def test_a_filtered_league_table_downloads_exactly_the_rows_shown(
    served: Served, browser_page
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, served, "national_assessor")
    page.get_by_role("link", name="Posture dashboards").click()
    expect(page.get_by_text("20 products match")).to_be_visible(timeout=30_000)
    everything = _download_rows(page)
    assert len(everything) == 20
    # Filter by the first row's supplier: fewer rows, every one that supplier's.
    supplier = everything[0]["Supplier"]
    search = page.get_by_label("Supplier or product contains")
    search.fill(supplier)
    search.press("Enter")
    caption = page.get_by_text(re.compile(r"^\d+ products match"))
    expect(caption).not_to_have_text(re.compile(r"^20 products match"), timeout=30_000)
    wait_until_idle(page)
    matched = int(caption.inner_text().split()[0])
    rows = _download_rows(page)
    expected = [
        r
        for r in everything
        if supplier.casefold() in r["Supplier"].casefold()
        or supplier.casefold() in r["Product"].casefold()
    ]
    assert len(rows) == matched == len(expected)
    assert [r["Product"] for r in rows] == [r["Product"] for r in expected]
    assert list(rows[0]) == [
        "Product",
        "Supplier",
        "Score (out of 100)",
        "Confidence (%)",
        "Band",
        "Claims contradicted by checks",
        "Band at the snapshot before",
        "Change in score",
        "Trend",
    ]


def _download_rows(page) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    wait_until_idle(page)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download league table (CSV)").click()
    text = Path(download.value.path()).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))
