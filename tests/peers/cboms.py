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


# Hostile reference graphs: keys that name their algorithm only by reference, arranged so that a
# resolver that recursed, enumerated paths or followed references without a bound would hang.
def _graph_cbom(components: list[dict[str, Any]], dependencies: list[dict[str, Any]]) -> bytes:
    envelope = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**envelope, "components": components, "dependencies": dependencies}).encode()


def _key(ref: str, algorithm_ref: str | None = None) -> dict[str, Any]:
    material: dict[str, Any] = {"type": "secret-key"}
    if algorithm_ref is not None:
        material["algorithmRef"] = algorithm_ref
    return {
        "type": "cryptographic-asset",
        "bom-ref": ref,
        "name": f"key@{ref}",
        "cryptoProperties": {
            "assetType": "related-crypto-material",
            "relatedCryptoMaterialProperties": material,
        },
    }


RSA_2048 = {
    "type": "cryptographic-asset",
    "bom-ref": "algorithm-rsa-2048",
    "name": "RSA-2048",
    "cryptoProperties": {
        "assetType": "algorithm",
        "algorithmProperties": {"primitive": "pke", "parameterSetIdentifier": "2048"},
        "oid": "1.2.840.113549.1.1.1",
    },
}


def reference_cycles(pairs: int) -> bytes:
    """`pairs` pairs of keys naming each other (one way by algorithmRef, back by dependsOn),
    and a key naming itself."""
    components = [_key("self", "self")]
    dependencies = []
    for pair in range(pairs):
        components += [_key(f"a-{pair}", f"b-{pair}"), _key(f"b-{pair}")]
        dependencies.append({"ref": f"b-{pair}", "dependsOn": [f"a-{pair}"]})
    return _graph_cbom(components, dependencies)


def reference_chain(length: int) -> bytes:
    """key-0 depends on key-1, ... and the last on RSA-2048: `length` steps to the algorithm."""
    components = [_key(f"key-{step}") for step in range(length)] + [RSA_2048]
    dependencies = [
        {"ref": f"key-{step}", "dependsOn": [f"key-{step + 1}"]} for step in range(length - 1)
    ]
    dependencies.append({"ref": f"key-{length - 1}", "dependsOn": [RSA_2048["bom-ref"]]})
    return _graph_cbom(components, dependencies)


def reference_fan_out(refs: int) -> bytes:
    """One key that depends on `refs` refs the CBOM does not list, and on RSA-2048; and 16
    layers of 2 keys, each depending on both keys of the next, the last on RSA-2048 (65,536
    paths from the top for anything that enumerates paths)."""
    names = [f"missing-{n}" for n in range(refs)] + [RSA_2048["bom-ref"]]
    components = [_key("wide"), RSA_2048]
    dependencies = [{"ref": "wide", "dependsOn": names}]
    for layer in range(16):
        below = [f"d{layer + 1}-{side}" for side in "ab"] if layer < 15 else [RSA_2048["bom-ref"]]
        for side in "ab":
            components.append(_key(f"d{layer}-{side}"))
            dependencies.append({"ref": f"d{layer}-{side}", "dependsOn": below})
    return _graph_cbom(components, dependencies)
