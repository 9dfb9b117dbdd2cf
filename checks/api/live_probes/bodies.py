"""A small valid instance of a request schema: its example when it has one, else the required
properties only, each the plainest value its type and limits allow. None when this cannot tell
what would be valid (a pattern without an example, a schema too deep or self-referring), so a
probe skips rather than send a body the API rightly refuses."""

from __future__ import annotations

from typing import Any

from checks.api.model import OpenApiView

FORMATS = {
    "uuid": "3f2b8c1e-7d4a-4e8b-9c2d-1a5e6f7b8c9d",
    "email": "assure-probe@example.org",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "uri": "https://example.org/assure-probe",
    "url": "https://example.org/assure-probe",
    "hostname": "example.org",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


class NoInstance(ValueError):
    """This schema's valid instance cannot be told."""


def _type(schema: dict[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if declared is None and ("properties" in schema or "required" in schema):
        return "object"
    return declared if isinstance(declared, str) else None


def merged_schema(view: OpenApiView, schema: Any, depth: int) -> dict[str, Any]:
    """The schema with its $ref followed and its allOf folded into one object schema."""
    if depth < 0:
        raise NoInstance("the schema is nested too deeply")
    node = view.deref(schema)
    if not isinstance(node, dict):
        raise NoInstance("a $ref could not be followed")
    parts = node.get("allOf")
    if not isinstance(parts, list) or not parts:
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        sub = merged_schema(view, part, depth - 1)
        merged["properties"] = {**(sub.get("properties") or {}), **(merged.get("properties") or {})}
        merged["required"] = sorted({*(sub.get("required") or []), *(merged.get("required") or [])})
        for key, value in sub.items():
            merged.setdefault(key, value)
    return merged


def instance(view: OpenApiView, schema: Any, depth: int) -> Any:
    node = merged_schema(view, schema, depth)
    for key in ("example", "default", "const"):
        if key in node:
            return node[key]
    if isinstance(node.get("examples"), list) and node["examples"]:
        return node["examples"][0]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][0]
    for key in ("oneOf", "anyOf"):
        if isinstance(node.get(key), list) and node[key]:
            return instance(view, node[key][0], depth - 1)
    kind = _type(node)
    if kind == "object":
        properties = node.get("properties") or {}
        return {
            name: instance(view, properties.get(name, {}), depth - 1)
            for name in node.get("required") or []
            if isinstance(name, str) and not _read_only(view, properties.get(name))
        }
    if kind == "array":
        count = int(node.get("minItems") or 0)
        return [instance(view, node.get("items", {}), depth - 1) for _ in range(count)]
    if kind == "string":
        if node.get("format") in FORMATS:
            return FORMATS[node["format"]]
        if "pattern" in node:
            raise NoInstance("a string with a pattern and no example")
        length = max(int(node.get("minLength") or 1), 1)
        text = ("assure-probe" * (length // 12 + 1))[:length]
        maximum = node.get("maxLength")
        if isinstance(maximum, int) and maximum < length:
            raise NoInstance("a string whose limits contradict each other")
        return text[: maximum if isinstance(maximum, int) else length]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum"))
        value = int(low) + 1 if isinstance(low, int | float) else 1
        high = node.get("maximum")
        return min(value, int(high)) if isinstance(high, int | float) else value
    if kind == "boolean":
        return False
    raise NoInstance(f"a schema of type {kind!r}")


def _read_only(view: OpenApiView, schema: Any) -> bool:
    node = view.deref(schema)
    return isinstance(node, dict) and node.get("readOnly") is True


def read_only_properties(view: OpenApiView, schema: Any, depth: int) -> dict[str, dict[str, Any]]:
    """The top-level properties of an object schema marked readOnly, each with its schema."""
    try:
        node = merged_schema(view, schema, depth)
    except NoInstance:
        return {}
    found = {}
    for name, child in (node.get("properties") or {}).items():
        resolved = view.deref(child)
        if isinstance(resolved, dict) and resolved.get("readOnly") is True:
            found[str(name)] = resolved
    return found


PLANTED_TEXT = "assure-probe-planted"
PLANTED_UUID = "00000000-0000-4000-8000-00000a55e7e5"


def planted_candidates(schema: dict[str, Any]) -> list[Any]:
    """Values for a read-only property, most telling first. Only the probe's own strings are
    values no server would choose itself; an enum member, a boolean or a number may be the
    server's default, so the probe picks among these one that is neither the declared default
    nor what the server sets when it is not sent."""
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return list(reversed(schema["enum"]))
    kind = _type(schema)
    if kind == "boolean":
        return [True, False]
    if kind in ("integer", "number"):
        high, low = schema.get("maximum"), schema.get("minimum")
        values = [int(high)] if isinstance(high, int | float) else [987654]
        if isinstance(low, int | float):
            values.append(int(low))
        return values
    if kind == "string" and schema.get("format") == "uuid":
        return [PLANTED_UUID]
    return [PLANTED_TEXT]


def distinctive(value: Any) -> bool:
    """A value only this probe sends: the server having it means it took it."""
    return value in (PLANTED_TEXT, PLANTED_UUID) and isinstance(value, str)
