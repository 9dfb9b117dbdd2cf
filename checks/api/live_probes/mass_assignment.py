"""Mass assignment (API3, broken object property level authorisation): one write with a valid
body plus a property the client may not set (one the request schema marks readOnly, else an
undeclared `is_admin`/`role` where the schema admits no extra properties), then the object as
the API hands it back: the response, or one GET of its Location or of its id. Only with a
proven identity.

The property must come back as a value the server would not have set by itself: a server that
sets `role` to its default "member" and is sent "member" stored nothing of ours. So the value
planted differs from the default the schema declares, and, unless it is one only this probe
sends, from what the server sets when the property is not sent at all: a first write without
it (a control) is read back for that. A property with no such value left is not planted. At
most two writes per run."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

from checks.api.live_probes.bodies import (
    NoInstance,
    distinctive,
    instance,
    merged_schema,
    planted_candidates,
    read_only_properties,
)
from checks.api.live_probes.client import Answer
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.api.model import Operation
from checks.findings import finding

PROBE = "mass_assignment"


# name -> (values to plant, most telling first; the default the schema declares, if any)
Candidates = dict[str, tuple[list[Any], Any]]
NO_DEFAULT = object()


def _plan(ctx: ProbeContext) -> tuple[Operation, str, dict[str, Any], Candidates] | str:
    """(operation, media type, valid body, what may be planted), or why there is none."""
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
            return (
                op,
                media,
                body,
                {
                    n: (planted_candidates(s), s.get("default", NO_DEFAULT))
                    for n, s in read_only.items()
                },
            )
        closed = node.get("additionalProperties") in (None, False)
        undeclared = {
            name: ([value, not value] if isinstance(value, bool) else [value], NO_DEFAULT)
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


def _read_back(
    ctx: ProbeContext, op: Operation, answer: Answer, names: list[str], notes: list[str]
) -> tuple[dict[str, Any] | None, Answer]:
    """The written object as the API hands it back (the answer when it names the properties,
    else one GET of it), and the answer it was read from; None when it cannot be read."""
    seen = answer.json()
    if isinstance(seen, dict) and all(name in seen for name in names):
        return seen, answer
    follow = _follow_up(ctx, op, answer)
    if follow:
        again = ctx.client.send("GET", follow, ctx.auth(), note="identity token")
        if again is not None and 200 <= again.status < 300:
            notes.append(f"read back from {follow}")
            data = again.json()
            return (data if isinstance(data, dict) else None), again
    return (seen if isinstance(seen, dict) else None), answer


def _choose(candidates: Candidates, own: dict[str, Any] | None, notes: list[str]) -> dict[str, Any]:
    """For each property, the first value that is neither its declared default nor the
    server's own (`own`: the control's read-back; None when it could not be read, and then only
    a value only this probe sends will do)."""
    chosen = {}
    for name, (values, default) in candidates.items():
        for value in values:
            if default is not NO_DEFAULT and value == default:
                continue
            if own is None and not distinctive(value):
                continue
            if own is not None and name in own and own[name] == value:
                continue
            chosen[name] = value
            break
        else:
            notes.append(f"{name}: no value the server would not set itself")
    return chosen


def _write(ctx: ProbeContext, op: Operation, media: str, body: dict[str, Any]) -> Answer | None:
    headers = {**ctx.auth(), "Content-Type": media}
    return ctx.client.send(
        op.method.upper(), ctx.url(op.path), headers, json.dumps(body).encode(), "identity token"
    )


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
    op, media, body, candidates = plan
    notes: list[str] = []
    own: dict[str, Any] | None = {}
    if not all(all(distinctive(v) for v in values) for values, _ in candidates.values()):
        control = _write(ctx, op, media, body)
        if control is None:
            return [], outcome(PROBE, operation=op.label, skipped="no answer")
        notes.append(f"control write answered {control.status}")
        if not 200 <= control.status < 300:
            return [], outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
        own, _ = _read_back(ctx, op, control, list(candidates), notes)
        if own is not None:
            notes.append(
                "the server's own: " + json.dumps({n: own[n] for n in candidates if n in own})
            )
    planted = _choose(candidates, own, notes)
    if not planted:
        return [], outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
    answer = _write(ctx, op, media, {**body, **planted})
    notes.append(f"planted: {sorted(planted)}")
    if answer is None:
        return [], outcome(PROBE, operation=op.label, notes=tuple(notes), skipped="no answer")
    notes.append(f"write answered {answer.status}")
    if not 200 <= answer.status < 300:
        return [], outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
    seen, read_back = _read_back(ctx, op, answer, list(planted), notes)
    taken = _taken(planted, seen)
    found = []
    if taken:
        evidence = {
            **answer.evidence(),
            "taken": taken,
            "read_back": f"{read_back.method} {read_back.url}",
            "operation": op.label,
        }
        if own:
            evidence["server_own"] = {n: own[n] for n in taken if n in own}
        found.append(finding("API-PROBE-009", **evidence))
    return found, outcome(PROBE, ran=True, operation=op.label, notes=tuple(notes))
