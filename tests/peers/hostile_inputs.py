"""The hostile corpus: files a supplier could upload, each built to break a parser or a check
in a different way. The sandbox tests and benchmarks/bench_hostile_inputs.py both run it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checks.sandbox.limits import MIB
from tests.peers.cboms import (
    real_components,
    reference_chain,
    reference_cycles,
    reference_fan_out,
    unique_cbom,
)

OSCAL_BASIC = Path(__file__).resolve().parents[1] / "data" / "oscal" / "basic-catalog.json"


def alias_bomb() -> bytes:
    """536 bytes, 81 aliases, nine a level for nine levels: 9**10 scalars once expanded."""
    lines = ["openapi: 3.0.3", "a0: &a0 [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines).encode()


def nested_arrays(levels: int = 100_000) -> bytes:
    return b"[" * levels + b"]" * levels


def nested_objects(levels: int = 5_000) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def long_number(digits: int = 100_000) -> bytes:
    return b'{"keys": [], "bomFormat": "CycloneDX", "n": ' + b"7" * digits + b"}"


def deep_components(levels: int = 400) -> bytes:
    component = dict(real_components()[0])
    for level in range(levels):
        component = {**real_components()[0], "bom-ref": f"c{level}", "components": [component]}
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    return json.dumps({**document, "components": [component]}).encode()


def oscal_nested_groups(levels: int = 300) -> bytes:
    group: dict = {
        "id": f"g{levels}",
        "title": "Innermost",
        "controls": [{"id": "c1", "title": "C"}],
    }
    for level in range(levels - 1, 0, -1):
        group = {"id": f"g{level}", "title": f"Group {level}", "groups": [group]}
    catalog = json.loads(OSCAL_BASIC.read_text(encoding="utf-8"))
    catalog["catalog"]["groups"] = [group]
    catalog["catalog"].pop("controls", None)
    return json.dumps(catalog).encode()


@dataclass(frozen=True)
class HostileInput:
    name: str
    # A check kind the sandbox runs, or "oscal" for `assure framework import-oscal`.
    kind: str
    build: Callable[[], bytes]
    # The finding codes a clear refusal carries; empty when the input must be accepted.
    refused_with: tuple[str, ...]


CORPUS = (
    HostileInput("api: 536-byte YAML alias bomb", "api", alias_bomb, ("API-000",)),
    HostileInput("api: 100k nested arrays", "api", nested_arrays, ("API-000",)),
    HostileInput("cbom: 100k nested arrays", "cbom", nested_arrays, ("CBOM-004",)),
    HostileInput("cbom: 5k nested objects", "cbom", nested_objects, ("CBOM-004",)),
    HostileInput("cbom: 100,000-digit number", "cbom", long_number, ("CBOM-004",)),
    HostileInput("cbom: components 400 deep", "cbom", deep_components, ("CBOM-004",)),
    HostileInput(
        "cbom: 20 MB of unique components", "cbom", lambda: unique_cbom(max_bytes=19 * MIB), ()
    ),
    HostileInput("cbom: 20,000 key reference cycles", "cbom", lambda: reference_cycles(20_000), ()),
    HostileInput("cbom: 50,000-step reference chain", "cbom", lambda: reference_chain(50_000), ()),
    HostileInput(
        "cbom: one key naming 400,000 refs", "cbom", lambda: reference_fan_out(400_000), ()
    ),
    HostileInput("jwks: 100k nested arrays", "jwks", nested_arrays, ("JWKS-005",)),
    HostileInput("jwks: 5k nested objects", "jwks", nested_objects, ("JWKS-005",)),
    HostileInput("jwks: 100,000-digit number", "jwks", long_number, ("JWKS-005",)),
    HostileInput("cert: 100k nested arrays", "cert", nested_arrays, ("CERT-006",)),
    HostileInput(
        "oscal: 100k levels deep", "oscal", lambda: b'{"catalog": ' + nested_arrays() + b"}", ()
    ),
    HostileInput("oscal: 300 nested groups", "oscal", oscal_nested_groups, ()),
)
