"""CORS (API8, security misconfiguration): does the API let any web page read its answers with
the user's credentials? An arbitrary Origin reflected in Access-Control-Allow-Origin together
with Access-Control-Allow-Credentials: true does; `*` with credentials is a broken policy that
browsers refuse, but one a proxy or a later change can turn into the first."""

from __future__ import annotations

from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.findings import CheckFinding, finding

PROBE = "cors"


def probe(ctx: ProbeContext) -> Probed:
    target = ctx.cheap_get()
    if target is None:
        return [], outcome(PROBE, skipped="no GET operation with nothing to fill in")
    path, with_identity = target
    operation = f"GET {path}"
    findings: list[CheckFinding] = []
    answered = 0
    for origin in ctx.book.cors.origins:
        headers = {**(ctx.auth() if with_identity else {}), "Origin": origin}
        answer = ctx.client.send("GET", ctx.url(path), headers, note="identity token")
        if answer is None:
            continue
        answered += 1
        allowed = answer.response_headers.get("access-control-allow-origin", "").strip()
        credentials = (
            answer.response_headers.get("access-control-allow-credentials", "").strip().lower()
            == "true"
        )
        if not credentials:
            continue
        evidence = {
            **answer.evidence(),
            "origin": origin,
            "allow_origin": allowed,
            "allow_credentials": True,
            "operation": operation,
        }
        if allowed == origin:
            findings.append(finding("API-PROBE-001", **evidence))
        elif allowed == "*":
            findings.append(finding("API-PROBE-002", **evidence))
    notes = () if with_identity else ("no identity was proven: a public GET was probed",)
    if not answered:
        return findings, outcome(PROBE, operation=operation, skipped="the API did not answer")
    return findings, outcome(
        PROBE,
        ran=True,
        operation=operation,
        notes=notes,
    )
