"""The debug-page probe reports traces in error answers and framework debug pages, not a JSON
200 whose data happens to read like a stack trace."""

from __future__ import annotations

import dataclasses
import time

import pytest

from checks.api.live import LiveSettings
from checks.api.live_probes import debug_pages
from checks.api.live_probes.client import Answer, ProbeClient, probe_book
from checks.api.live_probes.context import ProbeContext
from checks.api.live_probes.runner import run_probes
from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from tests.peers.api_flaws import CHATTY_NOTE, build_spec, serving_accounts, token_for

LOOPBACK = EgressPolicy.loopback_only()
PROVEN = [IdentityProof(identity="primary", status=IdentityStatus.PROVEN)]
TOKEN = token_for("alice")
STARLETTE_PAGE = (
    "<html><head><title>Starlette Debugger</title></head><body><h1>500 Server Error</h1>"
    '<p class="traceback-title">Traceback</p></body></html>'
)


def test_a_users_note_that_reads_like_a_trace_is_data_not_a_disclosure() -> None:
    with serving_accounts("chatty") as url:
        findings, report = run_probes(
            build_spec(), url, [TOKEN], PROVEN, LOOPBACK, LiveSettings(rate_limit=None)
        )
    pages = next(o for o in report.outcomes if o.probe == "debug_pages")
    assert pages.ran
    assert "API-PROBE-007" not in {f.code for f in findings}
    # The note was read: the probes' answers carried it, and it matches the trace markers.
    client = ProbeClient(LOOPBACK, 2.0, time.monotonic() + 10, None, 65536)
    with serving_accounts("chatty") as url:
        answer = client.send("GET", f"{url}/v1/me", {"Authorization": f"Bearer {TOKEN}"})
    assert answer is not None
    assert answer.status == 200
    assert CHATTY_NOTE.split("\n")[0] in answer.json()["note"]
    as_error = dataclasses.replace(answer, status=500)
    assert debug_pages.disclosed(as_error, probe_book().debug_markers) is not None


def test_the_flawed_twins_traceback_to_invalid_json_is_still_found() -> None:
    client = ProbeClient(LOOPBACK, 2.0, time.monotonic() + 10, None, 65536)
    with serving_accounts("flawed") as url:
        ctx = ProbeContext(OpenApiView(build_spec()), url, client, probe_book(), TOKEN, "primary")
        findings, _ = debug_pages.probe(ctx)
    [hit] = findings
    assert hit.evidence["status"] == 500
    assert hit.evidence["framework"] == "Python"


def _answer(status: int, media: str, body: str) -> Answer:
    return Answer("GET", "http://127.0.0.1/x", {}, status, {"content-type": media}, body.encode())


@pytest.mark.parametrize(
    ("status", "media", "body", "framework"),
    [
        (200, "application/json", '{"note": "Traceback (most recent call last)"}', None),
        (200, "text/plain", "Traceback (most recent call last):\n", None),
        (200, "application/json", '{"page": "<title>Starlette Debugger</title>"}', None),
        (200, "text/html; charset=utf-8", STARLETTE_PAGE, "Starlette"),
        (500, "application/json", '{"trace": "Traceback (most recent call last)"}', "Python"),
        (404, "text/html", "<h1>Whitelabel Error Page</h1>", "Spring"),
    ],
    ids=[
        "json-200-trace-words",
        "text-200-trace-words",
        "json-200-page-marker-as-data",
        "html-200-starlette-debugger",
        "json-500-trace",
        "html-404-whitelabel",
    ],
)
def test_what_counts_as_a_disclosure(
    status: int, media: str, body: str, framework: str | None
) -> None:
    book = probe_book()
    hit = debug_pages.disclosed(
        _answer(status, media, body), book.debug_markers, debug_pages.debug_page_book().pages
    )
    assert (hit[0] if hit else None) == framework
