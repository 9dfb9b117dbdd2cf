"""Mass assignment (API3, broken object property level authorisation): one write with a valid
body plus a property the client may not set (one the request schema marks readOnly, else an
undeclared `is_admin`/`role` where the schema admits no extra properties), then the object as
the API hands it back: the response, or one GET of its Location or of its id. The property
taking the sent value is the fault. Only with a proven identity; one write per run."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

from checks.api.live_probes.bodies import (
    NoInstance,
    instance,
    merged_schema,
    planted_value,
    read_only_properties,
)
from checks.api.live_probes.client import Answer
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.api.model import Operation
from checks.findings import finding

PROBE = "mass_assignment"


def _plan(ctx: ProbeContext) -> tuple[Operation, str, dict[str, Any], dict[str, Any]] | str:
    """(operation, media type, valid body, planted properties), or why there is none."""
    depth = ctx.book.mass_assignment.max_schema_depth
    why = "no write operation with a JSON object body and no path template"
    fallback = None
    for op, media, schema in ctx.json_writes():
        try:
            node = merged_schema(ctx.view, schema, depth)
            body = instance(ctx.view, node, depth)
        except NoInstance as exc:
            why = f"{op.label}: no valid body could be made ({exc})"
            continue
        if not isinstance(body, dict):
            continue
        read_only = read_only_properties(ctx.view, node, depth)
        if read_only:
            return op, media, body, {n: planted_value(s) for n, s in read_only.items()}
        closed = node.get("additionalProperties") in (None, False)
        undeclared = {
            name: value
            for name, value in ctx.book.mass_assignment.undeclared.items()
            if name not in (node.get("properties") or {})
        }
        if fallback is None and closed and undeclared:
            fallback = (op, media, body, undeclared)
    return fallback or why


def _read_path(ctx: ProbeContext, op: Operation, created: Any) -> str | None:
    """The path of a GET the description declares for the created object, filled with its id."""
    if not isinstance(created, dict) or not isinstance(created.get("id"), str | int):
        return None
    prefix = op.path.rstrip("/") + "/{"
    for candidate in ctx.view.operations():
        if (
            candidate.method == "get"
            and candidate.path.startswith(prefix)
            and candidate.path.endswith("}")
            and candidate.path.count("{") == 1
        ):
            return op.path.rstrip("/") + "/" + str(created["id"])
    return None


def _follow_up(ctx: ProbeContext, op: Operation, answer: Answer) -> str | None:
    """The URL to read the created object back from: its Location when on the API's own
    origin, else the declared GET of its id."""
    location = answer.response_headers.get("location")
    if location:
        url = urljoin(ctx.base_url.rstrip("/") + "/", location)
        if urlsplit(url)[:2] == urlsplit(ctx.base_url)[:2]:
            return url
    path = _read_path(ctx, op, answer.json())
    return ctx.url(path) if path else None


def _taken(planted: dict[str, Any], seen: Any) -> dict[str, Any]:
    if not isinstance(seen, dict):
        return {}
    return {name: value for name, value in planted.items() if name in seen and seen[name] == value}


def probe(ctx: ProbeContext) -> Probed:
    if not ctx.token:
        return [], outcome(PROBE, skipped="no identity was proven")
    plan = _plan(ctx)
    if isinstance(plan, str):
        return [], outcome(PROBE, skipped=plan)
    op, media, body, planted = plan
    sent_body = {**body, **planted}
    headers = {**ctx.auth(), "Content-Type": media}
    url = ctx.url(op.path)
    answer = ctx.client.send(
        op.method.upper(), url, headers, json.dumps(sent_body).encode(), "identity token"
    )
    notes = [f"planted: {sorted(planted)}"]
    if answer is None:
        return [], outcome(PROBE, operation=op.label, skipped="no answer")
    notes.append(f"write answered {answer.status}")
    if not 200 <= answer.status < 300:
        return [], outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
    taken, read_back = _taken(planted, answer.json()), answer
    if not taken and (follow := _follow_up(ctx, op, answer)):
        again = ctx.client.send("GET", follow, ctx.auth(), note="identity token")
        if again is not None and 200 <= again.status < 300:
            taken, read_back = _taken(planted, again.json()), again
            notes.append(f"read back from {follow}")
    found = []
    if taken:
        evidence = {
            **answer.evidence(),
            "taken": taken,
            "read_back": f"{read_back.method} {read_back.url}",
            "operation": op.label,
        }
        found.append(finding("API-PROBE-009", **evidence))
    return found, outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
