"""Browser: Markdown a user types never makes a reader's browser fetch anything.

An entrant's title and proposal, a judge's comment and an assessor's query each carry a Markdown
image and an <img> pointing at a loopback server that records every request. The judge reads the
entry, the supplier reads the query and the entrant reads the feedback in Debian's Chromium; the
server must see no request, and every string must be on screen as typed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, Served, screenshot, sign_in
from tests.cli import assure
from tests.peers.processes import free_port, serving

JOINER = "\u2060"  # ui.plain's invisible word joiner: not part of what the user typed


class PixelServer:
    """A loopback HTTP server that answers every GET with a 1x1 GIF and remembers the path."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PixelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def hostile(pixel: str, field: str) -> str:
    return (
        f"**{field}** ![{field}]({pixel}/{field}-markdown) "
        f'<img src="{pixel}/{field}-html"> [link](http://x.example) # {field} :small'
    )


@pytest.fixture(scope="module")
def pixel() -> Iterator[PixelServer]:
    with PixelServer() as server:
        yield server


@pytest.fixture(scope="module")
def estate(pixel: PixelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path_factory.mktemp("plain-text") / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure(
        "demo", "seed", "--suppliers", "2", "--as-of", "2026-11-01", "--with-logins", "--json",
        env=env,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    logins = {
        login["role"]: (login["email"], login["password"])
        for login in json.loads(seeded.stdout)["logins"]
    }
    password = secrets.token_urlsafe(18)
    judge_email = _hostile_work(env, logins, pixel.url, password)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"]
    with serving(argv, env, f"{url}/_stcore/health"):
        yield Served(url, logins | {"challenge_judge": (judge_email, password)})


def _hostile_work(
    env: dict[str, str], logins: dict[str, tuple[str, str]], pixel: str, judge_password: str
) -> str:
    """Through the services, as the pages would: a judge; a challenge entered by the supplier
    with a hostile title and proposal, judged with a hostile comment, results published; and an
    assessor's hostile query on the supplier's self-assessment."""
    from sqlalchemy import select, update

    from frameworks.loader import default_framework
    from kernel.settings import load_settings
    from posture.audit import SYSTEM
    from posture.identity.accounts import principal_for, set_password
    from posture.storage.engine import build_engine, session_factory, transaction
    from posture.storage.models import Challenge, User
    from supplier_portal import assessments
    from supplier_portal.challenges import entries, judging, manage
    from supplier_portal.challenges.forms import EntryForm, ScoreForm
    from supplier_portal.forms import AnswerForm, parse_form
    from supplier_portal.reviews import review_answer
    from tests.challenges.conftest import challenge_form

    def principal(session, role: str):  # type: ignore[no-untyped-def]
        email = logins[role][0]
        return principal_for(
            session, session.scalars(select(User).where(User.email == email)).one()
        )

    engine = build_engine(load_settings(env))
    try:
        with transaction(session_factory(engine)) as session:
            manager, supplier = (
                principal(session, "challenge_manager"),
                principal(session, "supplier_admin"),
            )
            assessor = principal(session, "national_assessor")
            home, entrant = (sorted(p.organisation_ids())[0] for p in (manager, supplier))
            now = datetime.now(UTC)
            challenge = manage.create_challenge(
                session,
                manager,
                home,
                challenge_form(
                    opens_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(days=1),
                    assessors_per_entry=1,
                ),
            )
            manage.publish_challenge(session, manager, challenge.id)
            form = {
                "title": hostile(pixel, "title"),
                "proposal": hostile(pixel, "proposal"),
                "eligibility_answers": {"uk_based": True},
            }
            entry = entries.save_entry(
                session, supplier, challenge.id, entrant, parse_form(EntryForm, form)
            )
            entries.submit_entry(session, supplier, entry.id)
            session.execute(
                update(Challenge)
                .where(Challenge.id == challenge.id)
                .values(closes_at=now - timedelta(minutes=1))
            )
            (allocation,) = manage.allocate_judges(session, manager, challenge.id)
            # Whichever of the demo's judges the allocation chose signs in with this password.
            judge_user = session.get(User, allocation.judge_user_id)
            set_password(session, SYSTEM, judge_user.email, judge_password)
            judge = principal_for(session, judge_user)
            comment = hostile(pixel, "comment")
            scores = {
                c["key"]: {"score": c["scale_max"], "comment": comment} for c in challenge.rubric
            }
            score = parse_form(ScoreForm, {"scores": scores, "in_scope": True, "fund": True})
            judging.submit_score(session, judge, allocation.id, score)
            manage.publish_results(session, manager, challenge.id)

            loaded = default_framework()
            # A supplier's profile is derived from its facts, not chosen.
            draft = assessments.start_assessment(session, supplier, entrant, None)
            profile = draft.profile_id
            outcome = next(
                o for o in loaded.framework.outcomes() if loaded.profiles[profile].target_for(o)
            )
            answer = assessments.save_answer(
                session, supplier, draft.id, parse_form(AnswerForm, {"outcome_id": outcome.id})
            )
            assessments.submit_assessment(session, supplier, draft.id)
            review_answer(session, assessor, answer.id, "query", hostile(pixel, "query"))
            return judge_user.email
    finally:
        engine.dispose()


def _open(page, name: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=30_000)


def _settle(page, drawn) -> None:  # type: ignore[no-untyped-def]
    """Wait for `drawn` (drawn after the user's text, however that is rendered), then for the
    page to go quiet, so any image it asked for has been asked for."""
    drawn.first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(2_000)


def _fetched_nothing(page, pixel: PixelServer) -> None:  # type: ignore[no-untyped-def]
    assert pixel.hits == [], pixel.hits
    assert page.locator(f'img[src^="{pixel.url}"]').count() == 0
    assert page.locator('[data-testid="stMain"] a[href^="http://x.example"]').count() == 0


def _shown_as_typed(page, typed: str) -> None:  # type: ignore[no-untyped-def]
    on_screen = page.locator('[data-testid="stMain"]').inner_text().replace(JOINER, "")
    assert typed in on_screen


def test_a_judge_reads_a_hostile_entry_and_nothing_is_fetched(
    estate: Served, pixel: PixelServer, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    pixel.hits.clear()
    sign_in(page, estate, "challenge_judge")
    _open(page, "Judging")
    # Peer scores come below the proposal; the only judge has no peer, and the page says so.
    _settle(page, page.get_by_text("No other judge has scored this entry yet."))
    _fetched_nothing(page, pixel)
    _shown_as_typed(page, hostile(pixel.url, "proposal"))
    chosen = page.get_by_test_id("stSelectbox").locator("input").input_value()
    assert chosen == f"{hostile(pixel.url, 'title')} (scored)"  # options are plain text
    assert screenshot(page, tmp_path, "plain-text-judging").stat().st_size > 10_000


def test_the_supplier_reads_a_hostile_query_and_feedback_and_nothing_is_fetched(
    estate: Served, pixel: PixelServer, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    pixel.hits.clear()
    sign_in(page, estate, "supplier_admin")
    _open(page, "Self-assessment")
    _settle(page, page.get_by_test_id("stAlert"))
    _fetched_nothing(page, pixel)
    _shown_as_typed(page, hostile(pixel.url, "query"))
    _open(page, "My challenge entries")
    _settle(page, page.get_by_test_id("stExpander"))
    page.locator('[data-testid="stExpander"] summary').first.click()
    _settle(page, page.get_by_test_id("stExpander").get_by_text("Mean score"))
    _fetched_nothing(page, pixel)
    _shown_as_typed(page, f"Feedback: {hostile(pixel.url, 'title')}")
    _shown_as_typed(page, hostile(pixel.url, "comment"))
    assert screenshot(page, tmp_path, "plain-text-feedback").stat().st_size > 10_000
