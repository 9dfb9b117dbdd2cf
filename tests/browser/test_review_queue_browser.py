"""Browser: a national assessor pages through the review queue of a 30-supplier estate, records
a decision, and finds it still recorded after reloading the page."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, Served, screenshot, sign_in
from tests.cli import assure
from tests.peers.processes import free_port, serving

SUPPLIERS = 30
PAGER = re.compile(r"Page ([\d,]+) of ([\d,]+) · ([\d,]+) answers waiting")


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, str]]]:
    """Its own served estate: the test writes a decision, which no other browser test expects."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path_factory.mktemp("review-queue") / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure(
        "demo", "seed", "--suppliers", str(SUPPLIERS), "--as-of", "2026-11-01", "--with-logins",
        "--json", env=env,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    logins = {
        login["role"]: (login["email"], login["password"])
        for login in json.loads(seeded.stdout)["logins"]
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"]
    with serving(argv, env, f"{url}/_stcore/health"):
        yield Served(url, logins), env


def _pager(page) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(page, pages, answers waiting) as the pager shows them."""
    from playwright.sync_api import expect

    shown = page.get_by_text(PAGER)
    expect(shown).to_be_visible(timeout=60_000)
    found = PAGER.search(shown.inner_text())
    assert found is not None
    number, pages, waiting = (int(g.replace(",", "")) for g in found.groups())
    return number, pages, waiting


def _chosen_answer(page, replacing: int | None = None) -> int:  # type: ignore[no-untyped-def]
    """The answer the decision form has chosen; with `replacing`, once the form no longer
    shows that answer (a page's rerun may draw the pager before the form)."""
    from playwright.sync_api import expect

    # While a rerun draws, the previous run's form may still be on the page, fading out.
    box = page.get_by_test_id("stForm").get_by_role("combobox", name="Answer", exact=True)
    expect(box).to_have_count(1, timeout=30_000)
    if replacing is not None:
        expect(box).not_to_have_value(re.compile(rf"\(answer {replacing}\)$"), timeout=30_000)
    shown = box.input_value()
    found = re.search(r"\(answer (\d+)\)$", shown)
    assert found is not None, shown
    return int(found.group(1))


def _open_queue(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("link", name="Review queue").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible(timeout=30_000)


def _review_status(env: dict[str, str], answer_id: int) -> tuple[str | None, str]:
    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory
    from posture.storage.models import Answer, Assessment

    engine = build_engine(load_settings(env))
    try:
        with session_factory(engine)() as session:
            answer = session.get(Answer, answer_id)
            assert answer is not None
            assessment = session.get(Assessment, answer.assessment_id)
            assert assessment is not None
            return answer.review_status, str(assessment.status)
    finally:
        engine.dispose()


def test_an_assessor_pages_the_queue_and_a_decision_sticks(
    estate, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    served, env = estate
    page = browser_page
    sign_in(page, served, "national_assessor")
    _open_queue(page)
    number, pages, waiting = _pager(page)
    assert number == 1
    assert waiting > 10
    assert pages == math.ceil(waiting / 25)  # 25 a page unless chosen otherwise

    page.get_by_label("Answers per page").click()
    page.get_by_role("option", name="10", exact=True).click()
    expect(page.get_by_text(f"Page 1 of {math.ceil(waiting / 10):,} ·")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_role("button", name="Previous page")).to_have_count(0)
    first_on_page_one = _chosen_answer(page)

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(f"Page 2 of {math.ceil(waiting / 10):,} ·")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_role("button", name="Previous page")).to_be_visible()
    chosen = _chosen_answer(page, replacing=first_on_page_one)
    assert chosen != first_on_page_one
    assert _review_status(env, chosen)[0] is None

    page.get_by_text("accept", exact=True).click()  # nothing is preselected
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text(f"Recorded: answer {chosen} accepted.")).to_be_visible(timeout=30_000)
    assert screenshot(page, tmp_path, "review-queue").stat().st_size > 10_000

    # Loaded again from scratch, in a new browser session: the decision is in the database.
    page = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, served, "national_assessor")
    _open_queue(page)
    _, _, waiting_after = _pager(page)
    assert waiting_after == waiting - 1
    status, assessment_status = _review_status(env, chosen)
    assert status == "accepted"
    assert assessment_status in ("under_review", "accepted")
