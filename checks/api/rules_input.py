"""Lint rules on what a client may send: rate limits, bounded inputs, closed bodies, and inputs
that let a client steer the server (OWASP API3, API4, API7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any

from checks.api.model import OpenApiView
from checks.api.rules_common import (
    Hit,
    input_schemas,
    operations,
    pattern,
    phrase,
    properties_of,
    responses,
    rule,
    status_codes,
    types_of,
    vocabulary,
    words,
)

RATE_HEADERS = re.compile(r"^(x-)?ratelimit", re.IGNORECASE)
_ESCAPE = re.compile(r"\\.")
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")
_UNBOUNDED_REPEAT = re.compile(r"[*+]|\{\d*,\}")
_LINK = re.compile(r"\]\([^)]*\)|\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


@rule("API-008")
def too_many_requests_documented(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        if not {"429", "4XX"} & status_codes(view, operation):
            yield f"{operation.pointer}/responses", {"operation": operation.label}


@rule("API-011")
def rate_limit_headers(view: OpenApiView) -> Iterator[Hit]:
    for operation in operations(view):
        documented = responses(view, operation)
        headers = {name for r in documented.values() for name in (r.get("headers") or {})}
        too_many = documented.get("429") or {}
        missing = []
        if not any(RATE_HEADERS.match(h) for h in headers):
            missing.append("RateLimit-*")
        if too_many and "retry-after" not in {h.lower() for h in too_many.get("headers") or {}}:
            missing.append("Retry-After")
        if missing:
            yield (
                f"{operation.pointer}/responses",
                {"operation": operation.label, "missing": missing},
            )


def pattern_bounds_length(regex: str) -> bool:
    """A pattern bounds a string's length only if it is anchored at both ends, has no top-level
    alternative escaping the anchors, and never repeats without limit (`*`, `+`, `{n,}`)."""
    body = _CLASS.sub("C", _ESCAPE.sub("E", regex.replace("\\A", "^").replace("\\z", "$")))
    if not (body.startswith("^") and body.endswith("$")) or _UNBOUNDED_REPEAT.search(body):
        return False
    depth = 0
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            return False
    return True


def _why_unbounded(node: dict[str, Any]) -> str | None:
    if "maxLength" in node or "enum" in node or "const" in node:
        return None
    form = node.get("format")
    if form in vocabulary().strings.bounded_formats:
        return None
    regex = node.get("pattern")
    if isinstance(regex, str) and pattern_bounds_length(regex):
        return None
    if isinstance(regex, str):
        return "its pattern does not bound the length"
    if form:
        return f"format {form} does not bound the length"
    return "no maxLength"


@rule("API-012")
def string_limits(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in input_schemas(view):
        if "string" in types_of(node) and (why := _why_unbounded(node)):
            yield location, {"operation": label, "why": why}


@rule("API-013")
def array_limits(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in input_schemas(view):
        if "array" in types_of(node) and "maxItems" not in node:
            yield location, {"operation": label}


def _numeric_sides(node: dict[str, Any]) -> tuple[bool, bool] | None:
    """Whether a numeric input has a lower and an upper bound; None when it is not numeric."""
    if not types_of(node) & {"integer", "number"} or "enum" in node or "const" in node:
        return None
    return (
        bool({"minimum", "exclusiveMinimum"} & node.keys()),
        bool({"maximum", "exclusiveMaximum"} & node.keys()),
    )


@rule("API-014")
def integer_ranges(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in input_schemas(view):
        if _numeric_sides(node) == (False, False):
            yield location, {"operation": label, "bounds": "none"}


@rule("API-032")
def integer_one_sided(view: OpenApiView) -> Iterator[Hit]:
    for location, node, label in input_schemas(view):
        sides = _numeric_sides(node)
        if sides and sides[0] != sides[1]:
            missing = "maximum" if sides[0] else "minimum"
            yield location, {"operation": label, "bounds": f"no {missing}"}


def _request_bodies(view: OpenApiView) -> Iterator[tuple[Any, str, str]]:
    for operation in operations(view):
        for where, schema in view.request_schemas(operation):
            if "/requestBody/" in where:
                yield schema, where, operation.label


@rule("API-015")
def closed_request_bodies(view: OpenApiView) -> Iterator[Hit]:
    """Only an object that says nothing about extra properties: `additionalProperties: true` or a
    schema for them (a map such as metadata) is a choice the author made, not an oversight."""
    for location, node, label in view.walk_schemas(_request_bodies(view)):
        is_object = "object" in types_of(node) or "properties" in node
        combined = any(k in node for k in ("allOf", "oneOf", "anyOf"))
        if (
            is_object
            and not combined
            and "additionalProperties" not in node
            and "unevaluatedProperties" not in node
        ):
            yield location, {"operation": label}


@lru_cache(maxsize=8192)
def _url_name(name: str) -> bool:
    url_inputs = vocabulary().url_inputs
    parts = words(name)
    return bool(parts) and (
        parts[-1] in url_inputs.last_words or phrase(name) in url_inputs.phrases
    )


@cache
def _hints() -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, vocabulary().url_inputs.description_hints)))


def _steers(name: str, schema: Any, description: str) -> str | None:
    """Why an input reads as a URL the server will fetch or redirect to, if it does."""
    if not isinstance(schema, dict) or types_of(schema) - {"string", "null", "array"}:
        return None
    if _url_name(name):
        return "name"
    url_inputs = vocabulary().url_inputs
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    if schema.get("format") in url_inputs.formats or items.get("format") in url_inputs.formats:
        return "format"
    lowered = description.lower()
    if _hints().search(lowered) and pattern(url_inputs.description).search(_LINK.sub(" ", lowered)):
        return "description"
    return None


@rule("API-024")
def url_inputs(view: OpenApiView) -> Iterator[Hit]:
    """Inputs that carry a URL (callbacks, webhooks, redirects): the server may fetch it (SSRF)
    or send users to it (open redirect), so it must be checked against an allow-list."""
    for operation in operations(view):
        for index, parameter in enumerate(operation.parameters):
            name = str(parameter.get("name", ""))
            schema = view.deref(parameter.get("schema")) or {}
            why = _steers(name, schema, str(parameter.get("description") or ""))
            if why:
                yield (
                    f"{operation.pointer}/parameters/{index}",
                    {"operation": operation.label, "input": name, "why": why},
                )
    for location, node, label in input_schemas(view):
        for name, child in properties_of(view, node):
            why = _steers(name, child, str(child.get("description") or ""))
            if why:
                evidence = {"operation": label, "input": name, "why": why}
                yield f"{location}/properties/{name}", evidence


def _resolved(view: OpenApiView, schema: Any, where: str) -> tuple[dict[str, Any] | None, str]:
    node = view.deref(schema)
    reference = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(reference, str) and reference.startswith("#"):
        where = reference[1:]
    return (node if isinstance(node, dict) else None), where


def _top_level(view: OpenApiView, schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A body schema and the members of its allOf: the properties a client sends at the top."""
    root, where = _resolved(view, schema, where)
    if root is None:
        return
    yield where, root
    for index, member in enumerate(root.get("allOf") or []):
        node, spot = _resolved(view, member, f"{where}/allOf/{index}")
        if node is not None:
            yield spot, node


@rule("API-028")
def server_owned_properties_writable(view: OpenApiView) -> Iterator[Hit]:
    """A create body that lets the client set `id`, `role`, `is_admin` or `created_at`: unless
    the server ignores them, a client can grant itself what the server should decide."""
    owned = vocabulary().requests.server_owned
    seen: set[str] = set()
    for operation in operations(view):
        if operation.method != "post":
            continue
        for where, schema in view.request_schemas(operation):
            if "/requestBody/" not in where:
                continue
            for location, node in _top_level(view, schema, where):
                for name, child in properties_of(view, node):
                    spot = f"{location}/properties/{name}"
                    if phrase(name) in owned and not child.get("readOnly") and spot not in seen:
                        seen.add(spot)
                        yield spot, {"operation": operation.label, "property": name}
