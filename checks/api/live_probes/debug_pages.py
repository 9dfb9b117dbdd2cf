"""Stack traces and framework debug pages (API8, security misconfiguration): a body of invalid
JSON to one JSON write, then every answer any probe got searched for a trace or a debug page.
A trace tells an attacker the framework, its version, file paths and code, and a debug page may
run code.

Only an error answer (status 400 or more) is searched for every marker in
checks/data/api_probes.yaml; an answer below 400 counts only when it is an HTML or text page
carrying a marker of a framework's own debug page (checks/data/api_debug_pages.yaml). A JSON 2xx
body is the API's data: a stored note that says "Traceback (most recent call last)" or "at
line 3" discloses nothing."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from checks.api.evidence import EXCERPT_CHARS
from checks.api.live_probes.client import Answer, DebugMarker
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.findings import CheckFinding, finding

PROBE = "debug_pages"
MAX_FINDINGS = 3
PAGE_MEDIA = ("text/html", "application/xhtml+xml", "text/plain")


class DebugPageBook(BaseModel):
    """checks/data/api_debug_pages.yaml: markers only a framework's debug page carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    pages: tuple[DebugMarker, ...]


@cache
def debug_page_book() -> DebugPageBook:
    text = (resources.files("checks") / "data" / "api_debug_pages.yaml").read_text("utf-8")
    return DebugPageBook.model_validate(yaml.safe_load(text))


@cache
def _compiled(markers: tuple[DebugMarker, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((m.framework, re.compile(m.pattern)) for m in markers)


def _is_page(answer: Answer) -> bool:
    media = answer.response_headers.get("content-type", "").split(";")[0].strip().lower()
    return media in PAGE_MEDIA


def disclosed(
    answer: Answer, markers: tuple[DebugMarker, ...], pages: tuple[DebugMarker, ...] = ()
) -> tuple[str, str] | None:
    """(framework, excerpt) of the first trace or debug-page marker that counts in this
    answer, or None: any marker in an error answer, only a debug page's in an HTML or text
    answer below 400, none in any other."""
    if answer.status >= 400:
        searched = markers + pages
    elif _is_page(answer):
        searched = pages
    else:
        return None
    text = answer.body.decode("utf-8", "replace")
    for framework, pattern in _compiled(searched):
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 20)
            return framework, text[start : start + EXCERPT_CHARS]
    return None


def probe(ctx: ProbeContext) -> Probed:
    notes: list[str] = []
    writes = ctx.json_writes()
    if writes:
        op, media, _ = writes[0]
        headers = {**ctx.auth(), "Content-Type": media}
        body = ctx.book.malformed.json_body.encode()
        answer = ctx.client.send(
            op.method.upper(), ctx.url(op.path), headers, body, "identity token"
        )
        notes.append(f"invalid JSON to {op.label}: {answer.status if answer else 'no answer'}")
    else:
        notes.append("no JSON write to send invalid JSON to")
    pages = debug_page_book().pages
    findings: list[CheckFinding] = []
    seen: set[tuple[str, str]] = set()
    for answer in ctx.client.answers:
        hit = disclosed(answer, ctx.book.debug_markers, pages)
        if hit is None or (answer.method, answer.url) in seen:
            continue
        seen.add((answer.method, answer.url))
        framework, excerpt = hit
        evidence = {**answer.evidence(), "framework": framework, "excerpt": excerpt}
        findings.append(finding("API-PROBE-007", **evidence))
        if len(findings) >= MAX_FINDINGS:
            break
    notes.append(f"{len(ctx.client.answers)} answers searched for debug markers")
    return findings, outcome(PROBE, ran=True, notes=tuple(notes))
