"""Browser: the Product posture page (my-posture). A supplier admin sees its own product's
score, band, trend chart and explanation, and stays signed in across a reload; a force assessor
selects a league-table row on the dashboards and follows it to that product's posture. axe-core
finds no serious violation on either page."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
from tests.browser.conftest import Served, screenshot, sign_in
from tests.browser.widgets import choose

# Streamlit's data grid draws rows on a canvas: its header row and each row are this tall.
ROW_HEIGHT = 35


def test_a_supplier_sees_its_products_score_band_trend_and_explanation(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["supplier_admin"][0]
    sign_in(page, served, "supplier_admin")
    page.get_by_role("link", name="Product posture").click()
    expect(page.get_by_role("heading", name="Product posture", level=1)).to_be_visible(
        timeout=30_000
    )
    # The seeded product with two snapshots behind it (another journey may register a product
    # of this supplier's, with none yet, that sorts first).
    choose(page, "Product or organisation", re.compile(rf"^{re.escape(_first_product(served))}"))
    _expect_scored(page)
    assert_accessible(page)
    screenshot(page, tmp_path, "product-posture-supplier")

    # A reload mid-journey keeps the session and the page.
    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Product posture", level=1)).to_be_visible(
        timeout=30_000
    )
    choose(page, "Product or organisation", re.compile(rf"^{re.escape(_first_product(served))}"))
    _expect_scored(page)
    assert page.url.rstrip("/").endswith("/my-posture")


def test_a_force_assessor_follows_a_league_row_to_the_products_posture(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["force_assessor"][0]
    sign_in(page, served, "force_assessor")
    page.get_by_role("link", name="Posture dashboards").click()
    expect(page.get_by_role("heading", name="Posture dashboards", level=1)).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text(re.compile(r"^\d+ products match"))).to_be_visible(timeout=30_000)
    league = page.get_by_test_id("stDataFrame").first
    expect(league).to_be_visible(timeout=30_000)
    assert_accessible(page)

    # The first row's product, from the grid's accessible twin (the canvas has no text).
    first_product = _first_league_product(page)
    wait_until_idle(page)
    box = league.bounding_box()
    assert box is not None
    # The row marker column, first data row: selects the row.
    page.mouse.click(box["x"] + 18, box["y"] + ROW_HEIGHT * 1.5)
    link = page.get_by_role("link", name=f"Open the posture of {first_product}")
    expect(link).to_have_count(1, timeout=30_000)

    # A reload mid-journey keeps the session.
    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Posture dashboards", level=1)).to_be_visible(
        timeout=30_000
    )
    league = page.get_by_test_id("stDataFrame").first
    expect(league).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    box = league.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + ROW_HEIGHT * 1.5)
    link = page.get_by_role("link", name=f"Open the posture of {first_product}")
    expect(link).to_have_count(1, timeout=30_000)
    link.click()

    expect(page.get_by_role("heading", name="Product posture", level=1)).to_be_visible(
        timeout=30_000
    )
    assert re.search(r"/my-posture\?product=\d+$", page.url), page.url
    expect(page.get_by_role("heading", name=first_product, level=2)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("You may not see")).to_have_count(0)
    _expect_scored(page)
    assert_accessible(page)
    screenshot(page, tmp_path, "product-posture-from-dashboards")


def _first_product(served: Served) -> str:
    """The name of the supplier admin's first product, as seeded."""
    from sqlalchemy import select

    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.models import Membership, Product, User

    engine = build_engine(load_settings(served.env))
    try:
        with session_factory(engine)() as session:
            return session.scalars(
                select(Product.name)
                .join(Membership, Membership.organisation_id == Product.organisation_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == served.logins["supplier_admin"][0])
                .order_by(Product.id)
                .limit(1)
            ).one()
    finally:
        engine.dispose()


def _expect_scored(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    for label in ("Score (out of 100)", "Band", "Confidence"):
        expect(page.get_by_test_id("stMetricLabel").filter(has_text=label)).to_have_count(
            1, timeout=30_000
        )
    expect(page.get_by_role("heading", name="Trend", level=3)).to_be_visible(timeout=30_000)
    # The trend chart is drawn, with its numbers in text beside it.
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"^\d+ snapshots?: from "))).to_be_visible()
    expect(
        page.get_by_role("heading", name="Why each outcome stands where it does", level=3)
    ).to_be_visible()


def _first_league_product(page) -> str:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # The accessible twin's first body row: Posture, Product, ... ; the product is the second.
    row = page.locator("[data-testid='stDataFrame'] [role=row]").nth(1)
    expect(row).to_be_attached(timeout=30_000)
    cells = row.locator("[role=gridcell]")
    expect(cells.nth(1)).to_be_attached(timeout=30_000)
    return cells.nth(1).inner_text().strip()
