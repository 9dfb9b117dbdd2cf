"""JSON Schemas published as files: one self-contained document, its references inlined."""

from __future__ import annotations

from typing import Any


def inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    """`node` with each local `$ref` replaced by the definition it names and `$defs` dropped,
    for readers (people, simple validators) that do not follow references."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inline_refs(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {
            key: inline_refs(value, definitions) for key, value in node.items() if key != "$defs"
        }
    if isinstance(node, list):
        return [inline_refs(item, definitions) for item in node]
    return node
