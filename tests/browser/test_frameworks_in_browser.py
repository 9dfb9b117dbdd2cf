"""A force assessor, as a newcomer from the demo logins, opens the CAF 4.0 self-assessment the
demo started for them: the answers inferred from PTSbD are marked, and saying nothing about one
keeps it out of the count; the Framework page shows the CAF with C1.f and its URNs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.conftest import Served, screenshot, sign_in

CAF = "NCSC Cyber Assessment Framework 4.0"


def test_a_force_sees_its_inferred_caf_answers_and_the_caf_itself(
    served: Served, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, served, "force_assessor")
    page.get_by_role("link", name="Self-assessment").click()
    expect(page.get_by_role("heading", name="Self-assessment")).to_be_visible(timeout=30_000)
    page.get_by_label("Framework").click()
    page.get_by_role("option", name=CAF).click()
    page.get_by_role("button", name="Start or continue the draft").click()
    expect(page.get_by_text("Draft ready.")).to_be_visible(timeout=30_000)
    caption = page.get_by_text("against NCSC Cyber Assessment Framework 4.0")
    expect(caption).to_be_visible(timeout=30_000)
    # The progress bar's words count the answers inferred from PTSbD, still to confirm.
    expect(
        page.get_by_text(re.compile(r"outcomes answered, \d+ inferred to confirm"))
    ).to_be_visible(timeout=30_000)
    # The draft's page settles after "Draft ready." (a rerun can close a list opened too early):
    # wait for the outcome box, then narrow the list by typing, as a user would.
    outcome = page.get_by_role("combobox", name="Outcome", exact=True)
    expect(outcome).to_be_visible(timeout=30_000)
    outcome.click()
    inferred_id = _an_inferred_outcome(served)
    page.keyboard.type(inferred_id)
    inferred = page.get_by_role("option", name=re.compile(rf"^{re.escape(inferred_id)} "))
    expect(inferred.first).to_be_visible(timeout=30_000)
    inferred.first.click()
    expect(page.get_by_text(re.compile(r"^Saved status: .*inferred", re.I))).to_be_visible(
        timeout=30_000
    )
    note = page.get_by_text("confirm or change: saving the answer confirms it")
    expect(note).to_be_visible(timeout=30_000)
    assert note.inner_text().startswith("Inferred from PoliceTech Secure by Design ")
    screenshot(page, tmp_path, "caf-inferred-answer")

    page.get_by_role("link", name="Framework", exact=True).click()
    # The Self-assessment page has a "Framework" choice too: wait until it has gone.
    ptsbd = page.get_by_role("heading", name="PoliceTech Secure by Design 1.0")
    expect(ptsbd).to_be_visible(timeout=30_000)
    page.get_by_label("Framework").click()
    page.get_by_role("option", name=CAF).click()
    expect(page.get_by_role("heading", name=CAF)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("C1.f Understanding normal behaviour")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("C2.b ")).to_have_count(0)
    screenshot(page, tmp_path, "caf-framework")


def _an_inferred_outcome(served: Served) -> str:
    """An outcome of the force's CAF draft answered by inference from PTSbD, to confirm."""
    from sqlalchemy import select

    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.models import Answer

    engine = build_engine(load_settings(served.env))
    try:
        with session_factory(engine)() as session:
            return session.scalars(
                select(Answer.outcome_id)
                .where(Answer.inferred_from.is_not(None))
                .order_by(Answer.outcome_id)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
