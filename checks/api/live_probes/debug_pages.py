"""Stack traces and framework debug pages (API8, security misconfiguration): a body of invalid
JSON to one JSON write, then every answer any probe got searched for the markers in
checks/data/api_probes.yaml. A trace tells an attacker the framework, its version, file paths
and code, and a debug page may run code."""

from __future__ import annotations

import re
from functools import cache

from checks.api.live_probes.client import Answer, DebugMarker
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.findings import CheckFinding, finding

PROBE = "debug_pages"
MAX_FINDINGS = 3
EXCERPT = 160


@cache
def _compiled(markers: tuple[DebugMarker, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((m.framework, re.compile(m.pattern)) for m in markers)


def disclosed(answer: Answer, markers: tuple[DebugMarker, ...]) -> tuple[str, str] | None:
    """(framework, excerpt) of the first debug marker in the answer's body, or None."""
    text = answer.body.decode("utf-8", "replace")
    for framework, pattern in _compiled(markers):
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 20)
            return framework, text[start : start + EXCERPT]
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
    findings: list[CheckFinding] = []
    seen: set[tuple[str, str]] = set()
    for answer in ctx.client.answers:
        hit = disclosed(answer, ctx.book.debug_markers)
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
