"""Browser, one journey end to end (issue 25's "done when"): a supplier admin registers a
product, assesses it claiming C3.b achieved, submits the partial assessment, runs a TLS check
of the product's endpoint (a loopback server offering no post-quantum key exchange, so the
check's PQC-TLS-001 caps C3.b), refreshes without being signed out and reads the product's band
and the contradicted claim on its posture page. The national assessor then finds that claim in
the review queue, marked as contradicted, and queries it; the supplier reads the query."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
from tests.browser.assessment_widgets import choose_outcome, indicator, one, preview, save, tick
from tests.browser.conftest import Served, screenshot, sign_in
from tests.browser.widgets import choose, press
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, stdlib_handler

PRODUCT = "Journey Evidence Vault"
QUERY = "The TLS check found no post-quantum key exchange: send the hybrid configuration."
UNANSWERED = re.compile(r"(\d+) of (\d+) outcomes are unanswered")
CONTRADICTED = re.compile(r"Claims contradicted by checks \((\d+)\)")


def _product_and_supplier(served: Served) -> tuple[int, str]:
    """The registered product's id and its supplier's name, as the database holds them."""
    from sqlalchemy import select

    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.models import Organisation, Product

    engine = build_engine(load_settings(served.env))
    try:
        with session_factory(engine)() as session:
            product = session.scalars(select(Product).where(Product.name == PRODUCT)).one()
            organisation = session.get(Organisation, product.organisation_id)
            assert organisation is not None
            return product.id, organisation.name
    finally:
        engine.dispose()


def _register(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("link", name="My products").click()
    expect(page.get_by_role("heading", name="My products")).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    form = page.get_by_test_id("stForm").filter(has_text="Register a product")
    form.get_by_label("Name", exact=True).fill(PRODUCT)
    form.get_by_role("button", name="Register").click()
    expect(one(page.get_by_text("Product registered."))).to_be_visible(timeout=30_000)


def _assess_and_submit(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("link", name="Self-assessment").click()
    expect(page.get_by_role("heading", name="Self-assessment").first).to_be_visible(timeout=30_000)
    choose(page, "Subject", f"Product: {PRODUCT}")
    press(page, "Start or continue the draft")
    expect(one(page.get_by_text(re.compile(rf"^Draft \d+ for {PRODUCT} ")))).to_be_visible(
        timeout=30_000
    )
    wait_until_idle(page)
    choose_outcome(page, "C3.b")
    for ticked in ("C3.b.PA1", "C3.b.A1", "C3.b.A2"):
        tick(page, indicator(page, ticked))
    preview(page, "Preview: Achieved.")
    save(page)
    told = one(page.get_by_text(UNANSWERED)).inner_text()
    found = UNANSWERED.search(told)
    assert found is not None, told
    gaps = int(found.group(1))
    tick(page, one(page.get_by_role("checkbox", name=f"Submit with {gaps} outcomes unanswered")))
    submit = one(page.get_by_role("button", name="Submit the assessment"))
    expect(submit).to_be_enabled(timeout=30_000)
    submit.click()
    expect(one(page.get_by_text("Submitted for review."))).to_be_visible(timeout=30_000)


def _check(page, port: int) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("link", name="Product checks").click()
    expect(page.get_by_role("heading", name="Product checks")).to_be_visible(timeout=30_000)
    choose(page, "Product", PRODUCT)
    wait_until_idle(page)
    endpoint = page.get_by_label("Endpoint (host:port)")
    endpoint.fill(f"127.0.0.1:{port}")
    endpoint.press("Enter")
    press(page, "Run check")
    expect(page.get_by_text("TLS check queued as job")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Results on record")).to_be_visible(timeout=90_000)


def test_a_supplier_registers_assesses_checks_and_submits_and_an_assessor_queries_the_claim(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["supplier_admin"][0]
    sign_in(page, served, "supplier_admin")
    _register(page)
    _assess_and_submit(page)
    cert, key = make_certificate(tmp_path, "ecdsa")
    with LoopbackServer(stdlib_handler(cert, key)) as server:
        _check(page, server.port)

    # Mid-journey, a refresh keeps the session.
    page.reload()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_have_count(0)

    product_id, supplier = _product_and_supplier(served)
    page.goto(f"{served.url}/my-posture?product={product_id}")
    band = one(page.get_by_test_id("stMetric").filter(has_text="Band"), timeout=60_000)
    assert band.get_by_test_id("stMetricValue").inner_text().strip() in ("A", "B", "C", "D", "E")
    heading = one(page.get_by_role("heading", name=CONTRADICTED))
    found = CONTRADICTED.search(heading.inner_text())
    assert found is not None
    assert int(found.group(1)) >= 1
    wait_until_idle(page)
    assert_accessible(page)
    screenshot(page, tmp_path, "supplier-journey-posture")

    # The national assessor, in a browser of their own.
    assessor = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    review = assessor.new_page()
    sign_in(review, served, "national_assessor")
    review.get_by_role("link", name="Review queue").click()
    expect(review.get_by_role("heading", name="Review queue")).to_be_visible(timeout=30_000)
    choose(review, "Supplier", supplier)
    choose(review, "Product", PRODUCT)
    wait_until_idle(review)
    answer = one(review.get_by_test_id("stForm").get_by_role("combobox", name="Answer"))
    chosen = answer.input_value()
    assert chosen.startswith(f"{PRODUCT}: C3.b · contradicted by a check (answer "), chosen
    answer_id = re.search(r"\(answer (\d+)\)$", chosen)
    assert answer_id is not None
    review.get_by_text("query", exact=True).click()
    review.get_by_label("Message to the supplier (needed to query or reject)").fill(QUERY)
    review.get_by_role("button", name="Record decision").click()
    expect(review.get_by_text(f"Recorded: answer {answer_id.group(1)} queried.")).to_be_visible(
        timeout=30_000
    )
    wait_until_idle(review)
    assert_accessible(review)

    # The supplier reads the query, naming the product, before choosing a draft.
    page.get_by_role("link", name="Self-assessment").click()
    expect(page.get_by_role("heading", name="The assessor asks")).to_be_visible(timeout=30_000)
    expect(
        page.get_by_text(re.compile(rf"C3\.b on {PRODUCT} .*{re.escape(QUERY[:40])}"))
    ).to_be_visible()
