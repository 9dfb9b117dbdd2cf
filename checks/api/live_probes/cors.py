"""CORS (API8, security misconfiguration): does the API let any web page read its answers with
the user's credentials?

Access-Control-Allow-Credentials: true lets a foreign page's request carry, and its script read
the answer to, only what the browser attaches by itself: cookies, HTTP authentication it has
cached, a client certificate. A bearer header or an API key in a header is attached by the
page's own script, and a foreign page does not have it. So an arbitrary Origin reflected with
credentials is critical (API-PROBE-001), and `*` with credentials a broken policy (browsers
refuse it, but a proxy or a later change can turn it into the first; API-PROBE-002, high), when
the API takes such an ambient credential.

The description is the supplier's own word, so it can only raise the grade, never lower it on
its own: a cookie apiKey, HTTP basic/digest/other non-bearer authentication or mutual TLS in its
security schemes counts, and so does what the API was seen to do. The probe's requests carry a
dummy Cookie as a browser's would, and every answer the probes' client got in the whole run
(not only this probe's GET: a session cookie is set at login, not on every read) is searched
for a Set-Cookie or a `Vary: Cookie` (the answer depends on a cookie it read). Only when the
description declares security, every scheme is a bearer header (http bearer, OAuth 2, OpenID
Connect) or a header/query API key, and no answer showed a cookie at all are both reported low
(API-PROBE-010): nothing leaks that the run could see, and the policy leaks the day a cookie
session is added. A description declaring no security at all says nothing about how the API is
really entered, so then the finding keeps its full weight. The grade is settled after every
probe ran (`regraded`, called by the runner)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from checks.api.live_probes.client import Answer
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.api.model import OpenApiView
from checks.catalogue.api import LiveProbeOutcome
from checks.findings import CheckFinding, finding

PROBE = "cors"
# Sent with the probe as a browser would send a session cookie: an API that reads cookies may
# answer it with Vary: Cookie, or clear it with a Set-Cookie.
DUMMY_COOKIE = "assure-probe=1"
# Schemes a page's own script must attach; anything else a browser may send by itself.
HEADER_ONLY = ("oauth2", "openidconnect")


def ambient_schemes(view: OpenApiView) -> list[str] | None:
    """The security schemes a browser attaches by itself (cookie, HTTP non-bearer, mutual TLS,
    or one this cannot classify), or None when the description declares none to judge by."""
    schemes = view.schemes()
    if not schemes:
        return None
    ambient = []
    for name, scheme in schemes.items():
        kind = str(scheme.get("type", "")).lower() if isinstance(scheme, dict) else ""
        where = str(scheme.get("in", "")).lower() if isinstance(scheme, dict) else ""
        http = str(scheme.get("scheme", "")).lower() if isinstance(scheme, dict) else ""
        if kind in HEADER_ONLY or (kind == "http" and http == "bearer"):
            continue
        if kind == "apikey" and where in ("header", "query"):
            continue
        ambient.append(str(name))
    return ambient


def observed(answers: list[Answer]) -> list[str]:
    """What the answers show of a cookie the API sets or reads, once per kind, with where."""
    seen: dict[str, str] = {}
    for answer in answers:
        where = f"{answer.method} {urlsplit(answer.url).path}"
        if "set-cookie" in answer.response_headers:
            seen.setdefault("set", f"a cookie the API set ({where})")
        vary = answer.response_headers.get("vary", "")
        if "cookie" in (part.strip().lower() for part in vary.split(",")):
            seen.setdefault("vary", f"Vary: Cookie ({where})")
    return list(seen.values())


def ambient_credentials(view: OpenApiView, answers: list[Answer]) -> list[str] | None:
    """The ambient credentials declared or seen; None when nothing was declared or seen."""
    declared, seen = ambient_schemes(view), observed(answers)
    return [*(declared or []), *seen] if seen else declared


def graded(evidence: dict[str, Any], ambient: list[str] | None) -> CheckFinding:
    """The finding for an origin allowed with credentials, by what a browser sends itself."""
    evidence = {**evidence, "ambient_credentials": ambient}
    if ambient == []:
        return finding("API-PROBE-010", **evidence)
    if evidence["allow_origin"] == "*":
        return finding("API-PROBE-002", **evidence)
    return finding("API-PROBE-001", **evidence)


def probe(ctx: ProbeContext) -> Probed:
    target = ctx.cheap_get()
    if target is None:
        return [], outcome(PROBE, skipped="no GET operation with nothing to fill in")
    path, with_identity = target
    operation = f"GET {path}"
    allowed_any: list[dict[str, Any]] = []
    answered = 0
    note = "identity token; the cookie is a dummy" if with_identity else "a dummy cookie"
    for origin in ctx.book.cors.origins:
        auth = ctx.auth() if with_identity else {}
        headers = {**auth, "Origin": origin, "Cookie": DUMMY_COOKIE}
        answer = ctx.client.send("GET", ctx.url(path), headers, note=note)
        if answer is None:
            continue
        answered += 1
        allowed = answer.response_headers.get("access-control-allow-origin", "").strip()
        credentials = (
            answer.response_headers.get("access-control-allow-credentials", "").strip().lower()
            == "true"
        )
        if not credentials or allowed not in (origin, "*"):
            continue
        allowed_any.append(
            {
                **answer.evidence(),
                "origin": origin,
                "allow_origin": allowed,
                "allow_credentials": True,
                "operation": operation,
            }
        )
    notes = [] if with_identity else ["no identity was proven: a public GET was probed"]
    if not answered:
        return [], outcome(PROBE, operation=operation, skipped="the API did not answer")
    ambient = ambient_credentials(ctx.view, ctx.client.answers)
    notes.append(_credentials_note(ambient))
    findings = [graded(evidence, ambient) for evidence in allowed_any]
    return findings, outcome(PROBE, ran=True, operation=operation, notes=tuple(notes))


def regraded(
    found: list[CheckFinding], result: LiveProbeOutcome, view: OpenApiView, answers: list[Answer]
) -> Probed:
    """The probe's findings and outcome graded again by every answer of the run."""
    if not result.ran:
        return found, result
    ambient = ambient_credentials(view, answers)
    findings = [
        graded({k: v for k, v in f.evidence.items() if k != "ambient_credentials"}, ambient)
        for f in found
    ]
    notes = (*result.notes[:-1], _credentials_note(ambient))  # the last says what it judged by
    return findings, result.model_copy(update={"notes": notes})


def _credentials_note(ambient: list[str] | None) -> str:
    if ambient is None:
        return "the description declares no security scheme: ambient credentials assumed"
    if not ambient:
        return (
            "every security scheme is a header a page must attach, and no answer of the run"
            " set or varied on a cookie: no ambient credential"
        )
    return f"credentials a browser sends by itself: {', '.join(ambient)}"
