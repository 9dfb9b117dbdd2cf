"""Large CBOMs made of real components: the shapes in tests/data/cbom, with unique bom-refs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

CBOMS = Path(__file__).resolve().parents[1] / "data" / "cbom"


def real_components() -> list[dict[str, Any]]:
    found = []
    for fixture in sorted(CBOMS.glob("*.json")):
        document = json.loads(fixture.read_text(encoding="utf-8"))
        found += [c for c in document["components"] if c.get("type") == "cryptographic-asset"]
    return found


def unique_cbom(count: int | None = None, max_bytes: int | None = None) -> bytes:
    """A CycloneDX 1.6 CBOM of `count` components, or as many as fit in `max_bytes`."""
    shapes = real_components()
    envelope = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}
    components: list[dict[str, Any]] = []
    size = len(json.dumps(envelope))
    while count is None or len(components) < count:
        component = copy.deepcopy(shapes[len(components) % len(shapes)])
        component["bom-ref"] = f"{component.get('bom-ref', 'asset')}#{len(components)}"
        grown = size + len(json.dumps(component)) + 2
        if max_bytes is not None and grown > max_bytes:
            break
        components.append(component)
        size = grown
    return json.dumps({**envelope, "components": components}).encode()
