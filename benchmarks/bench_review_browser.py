"""The review queue in a real browser on the 10,000-supplier demo estate: a national assessor
opens the queue, pages on, records a decision, and a new browser session finds it recorded.

Issue 20 asks that the queue work in the browser at 10,000 suppliers (before, at 2,000 the
decision form took 66 s and one decision 2-5 minutes, and an accept was lost). A real
`assure serve` (app and one worker) serves the seeded, snapshotted estate on loopback; Debian's
Chromium, driven by Playwright, does what the assessor does. Each step is timed from the click
until its result is on screen; the baseline, in the same run, is the sign-in page's load (the
fixed cost of drawing any Streamlit page).

    python -m benchmarks.bench_review_browser [--suppliers 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.bench_browser import CHROMIUM, served_browser
from benchmarks.bench_pages import prepare_estate
from tests.browser.conftest import Served, submit_sign_in
from tests.browser.test_review_queue_browser import (
    _chosen_answer,
    _open_queue,
    _pager,
    _review_status,
)


def _walk(browser, served: Served, env: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    page.goto(served.url)
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=60_000)
    sign_in_page = time.perf_counter() - started
    submit_sign_in(page, served, "national_assessor", timeout=60_000)

    started = time.perf_counter()
    _open_queue(page)
    number, pages, waiting = _pager(page)
    first = _chosen_answer(page)
    open_queue = time.perf_counter() - started

    started = time.perf_counter()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(f"Page 2 of {pages:,} ·")).to_be_visible(timeout=60_000)
    chosen = _chosen_answer(page, replacing=first)
    next_page = time.perf_counter() - started

    started = time.perf_counter()
    page.get_by_role("button", name="Record decision").click()  # "accept" is preselected
    expect(page.get_by_text(f"Recorded: answer {chosen} accepted.")).to_be_visible(timeout=60_000)
    decision = time.perf_counter() - started
    page.close()

    again = browser.new_page(viewport={"width": 1400, "height": 1000})
    again.goto(served.url)
    expect(again.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=60_000)
    submit_sign_in(again, served, "national_assessor", timeout=60_000)
    _open_queue(again)
    _, _, waiting_after = _pager(again)
    again.close()
    status, _ = _review_status(env, chosen)
    return {
        "sign_in_page_seconds": round(sign_in_page, 3),
        "open_queue_seconds": round(open_queue, 3),
        "next_page_seconds": round(next_page, 3),
        "record_decision_seconds": round(decision, 3),
        "answers_waiting": waiting,
        "first_page_number": number,
        "decision_stuck": status == "accepted" and waiting_after == waiting - 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        logins = prepare_estate(Path(folder), args.suppliers)
        with served_browser(Path(folder), logins, workers=1) as (browser, served, env):
            walk = _walk(browser, served, env)
    print(
        json.dumps(
            {
                "benchmark": "review_queue_in_browser",
                "suppliers": args.suppliers,
                "baseline_sign_in_page_seconds": walk.pop("sign_in_page_seconds"),
                **walk,
                "works": walk["decision_stuck"] and walk["first_page_number"] == 1,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
