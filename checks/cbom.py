"""CBOM import: validate a CycloneDX 1.6/1.7 cryptography BOM, classify every asset
(checks/cbom_assets.py) and judge the inventory (checks/cbom_policy.py).

The supplier writes the file, so its shape is bounded before anything walks it: the parse (depth,
numbers), then the component tree (count, nesting, duplicates), then the schema. The schema runs
on jsonschema-rs, not cyclonedx-python-lib's jsonschema validator, whose uniqueItems compares
every pair of components (51 s for 8,000: benchmarks/bench_cbom_validation.py); jsonschema-rs
hashes them, and being native it would overflow the stack on deep input rather than raise,
which the earlier bounds rule out.
"""

from __future__ import annotations

import gc
import json
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

from checks.catalogue.cbom import CbomAsset, CbomResult
from checks.cbom_assets import classify_assets
from checks.cbom_graph import MAX_REFERENCE_DEPTH
from checks.cbom_policy import combine, inventory_score
from checks.findings import finding
from checks.readiness import assemble
from checks.report import CheckReport
from checks.safe_parse import InputRefused, Limits, load_json

__all__ = ["MAX_REFERENCE_DEPTH", "CbomError", "load_cbom", "run_cbom_check"]

MAX_CBOM_BYTES = 20 * 1024 * 1024
# 100,000 assets: cbomkit's scan of Kafka lists 11 and an estate-wide CBOM a few thousand; the
# components in tests/data/cbom average about 500 bytes, so 20 MB of real ones is some 40,000.
# Only padding-sized components reach the cap, and it bounds the report (one row per asset).
MAX_COMPONENTS = 100_000
# 16 levels of components inside components: assemblies in real BOMs nest two or three deep.
MAX_COMPONENT_NESTING = 16
CBOM_LIMITS = Limits(max_bytes=MAX_CBOM_BYTES)
SUPPORTED_VERSIONS = {"1.6", "1.7"}
SCHEMA_PREFIX = "http://cyclonedx.org/schema/"


class CbomError(ValueError):
    pass


def load_cbom(raw: bytes) -> dict[str, Any]:
    try:
        document = load_json(raw, CBOM_LIMITS)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CbomError(f"not JSON: {exc}") from exc
    except InputRefused as exc:
        raise CbomError(str(exc)) from exc
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise CbomError("not a CycloneDX document (bomFormat must be CycloneDX)")
    version = str(document.get("specVersion"))
    if version not in SUPPORTED_VERSIONS:
        raise CbomError(f"specVersion {version} is not supported; use 1.6 or 1.7")
    check_component_tree(document)
    error = next(_validator(version).iter_errors(document), None)
    if error is not None:
        path = "/".join(str(p) for p in error.instance_path)
        raise CbomError(f"fails the CycloneDX {version} schema at /{path}: {_short(error.message)}")
    return document


def _short(message: str, limit: int = 300) -> str:
    # jsonschema-rs starts a message with the failing value and ends it with the reason
    # ("... has non-unique elements"), so a long one keeps both ends.
    if len(message) <= limit:
        return message
    return f"{message[: limit - 100]} ... {message[-95:]}"


def _component_lists(document: dict[str, Any]) -> Iterator[tuple[str, int, list[Any]]]:
    """Every components array in the tree, breadth first, with its JSON pointer and level."""
    queue: deque[tuple[str, int, Any]] = deque([("/components", 1, document.get("components"))])
    while queue:
        pointer, level, items = queue.popleft()
        if not isinstance(items, list):
            continue  # not an array: the schema says so
        yield pointer, level, items
        for position, item in enumerate(items):
            if isinstance(item, dict) and "components" in item:
                queue.append((f"{pointer}/{position}/components", level + 1, item["components"]))


def check_component_tree(document: dict[str, Any]) -> None:
    """Count, nesting and uniqueness of components, before the schema sees them.

    Uniqueness is CycloneDX's uniqueItems, decided here by canonical JSON in a set, so a
    duplicate is named plainly; the schema still applies uniqueItems afterwards.
    """
    count = 0
    for pointer, level, items in _component_lists(document):
        if level > MAX_COMPONENT_NESTING:
            raise CbomError(
                f"components nested deeper than {MAX_COMPONENT_NESTING} levels at {pointer}"
            )
        count += len(items)
        if count > MAX_COMPONENTS:
            raise CbomError(f"more than {MAX_COMPONENTS} components")
        first_seen: dict[str, int] = {}
        for position, item in enumerate(items):
            key = json.dumps(item, sort_keys=True, separators=(",", ":"))
            if key in first_seen:
                raise CbomError(
                    f"{pointer}/{position} repeats {pointer}/{first_seen[key]}: "
                    "CycloneDX requires each component in a list to be unique"
                )
            first_seen[key] = position


def _no_fetching(uri: str) -> Any:
    raise ValueError(f"the CycloneDX schema refers to {uri}, which is not shipped with it")


@cache
def _validator(version: str) -> jsonschema_rs.Draft7Validator:
    """The strict CycloneDX schema and the three it refers to, as cyclonedx-python-lib ships."""

    def schema(path: str | None) -> Any:
        return json.loads(Path(str(path)).read_text(encoding="utf-8"))

    registry = jsonschema_rs.Registry(
        [
            (f"{SCHEMA_PREFIX}spdx.SNAPSHOT.schema.json", schema(SPDX_JSON)),
            (f"{SCHEMA_PREFIX}jsf-0.82.SNAPSHOT.schema.json", schema(JSF)),
            (f"{SCHEMA_PREFIX}cryptography-defs.SNAPSHOT.schema.json", schema(CRYPTOGRAPHY_DEFS)),
        ]
    )
    return jsonschema_rs.Draft7Validator(
        schema(BOM_JSON_STRICT[SchemaVersion.from_version(version)]),
        registry=registry,
        retriever=_no_fetching,
        validate_formats=True,
    )


def run_cbom_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    try:
        document = load_cbom(raw)
    except CbomError as exc:
        return assemble("cbom", source, started, [finding("CBOM-004", detail=str(exc))], {})
    rows = _classified(document)
    result = CbomResult(
        spec_version=document["specVersion"],
        assets=tuple(rows),
        counts=dict(Counter(row.algorithm_class for row in rows)),
    )
    if not rows:
        # An SBOM, or a CBOM of libraries only: nothing to judge, which is not a score of 0.
        findings = [finding("CBOM-007", components=_component_count(document))]
        return assemble("cbom", source, started, findings, {"inventory": None}, result.as_details())
    findings, readiness = combine(rows)
    result = result.model_copy(update={"readiness": readiness})
    subscores: dict[str, float | None] = {"inventory": inventory_score(readiness)}
    details = result.as_details()
    return assemble("cbom", source, started, findings, subscores, details, (now or started).date())


def _classified(document: dict[str, Any]) -> list[CbomAsset]:
    # The parsed document lives until the report is written, and a 20 MB one is millions of
    # objects the collector would rescan every time classification allocates: frozen, it is
    # left alone (0.8 s of 2 at the size cap).
    gc.freeze()
    try:
        return classify_assets(document)
    finally:
        gc.unfreeze()


def _component_count(document: dict[str, Any]) -> int:
    return sum(len(items) for _, _, items in _component_lists(document))
