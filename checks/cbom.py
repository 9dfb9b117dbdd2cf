"""CBOM import: validate a CycloneDX 1.6/1.7 cryptography BOM and classify every asset.

Classification order, as the asset allows: nistQuantumSecurityLevel, then OID, then name.
A level of 0 says "quantum-vulnerable" but not whether the algorithm is also broken classically,
so a catalogue match on OID or name that says "classically broken" refines it.

The supplier writes the file, so its shape is bounded before anything walks it: the parse (depth,
numbers), then the component tree (count, nesting, duplicates), then the schema. The schema runs
on jsonschema-rs, not cyclonedx-python-lib's jsonschema validator, whose uniqueItems compares
every pair of components (51 s for 8,000: benchmarks/bench_cbom_validation.py); jsonschema-rs
hashes them, and being native it would overflow the stack on deep input rather than raise,
which the earlier bounds rule out.
"""

from __future__ import annotations

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
from checks.findings import CheckFinding, finding
from checks.readiness import assemble
from checks.report import CheckReport
from checks.safe_parse import InputRefused, Limits, load_json
from pq_crypto.catalogue import (
    UNKNOWN,
    AlgorithmClass,
    Classification,
    algorithm_index,
    rsa_classification,
)

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


def _components(document: dict[str, Any]) -> list[dict[str, Any]]:
    # A deque: list.pop(0) is quadratic, half a second of copying at the 100,000 allowed.
    found, queue = [], deque(document.get("components", []))
    while queue:
        component = queue.popleft()
        found.append(component)
        queue.extend(component.get("components", []))
    return [c for c in found if c.get("type") == "cryptographic-asset"]


def _refined(primary: Classification, *others: Classification) -> Classification:
    for other in others:
        if other.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN:
            return other
    return primary


def classify_algorithm(component: dict[str, Any]) -> Classification:
    index = algorithm_index()
    properties = component.get("cryptoProperties", {})
    algorithm = properties.get("algorithmProperties", {})
    oid = properties.get("oid")
    by_oid = index.oid(oid) if oid else UNKNOWN
    name = str(component.get("name", ""))
    by_name = index.name(name)
    parameter = str(algorithm.get("parameterSetIdentifier", ""))
    if by_name.algorithm_id == "RSA" and parameter.isdigit() and int(parameter) >= 512:
        by_name = rsa_classification(int(parameter))
    level = algorithm.get("nistQuantumSecurityLevel")
    if isinstance(level, int):
        if level >= 1:
            return Classification(
                by_oid.algorithm_id or by_name.algorithm_id,
                AlgorithmClass.QUANTUM_SAFE,
                nist_category=level,
                basis=f"nistQuantumSecurityLevel {level}",
            )
        return _refined(
            Classification(
                by_oid.algorithm_id or by_name.algorithm_id,
                AlgorithmClass.QUANTUM_VULNERABLE,
                basis="nistQuantumSecurityLevel 0",
            ),
            by_oid,
            by_name,
        )
    if by_oid.algorithm_class is not AlgorithmClass.UNKNOWN:
        return _refined(by_oid, by_name)
    return by_name


def classify_assets(document: dict[str, Any]) -> list[CbomAsset]:
    components = _components(document)
    own = [
        classify_algorithm(c)
        if c.get("cryptoProperties", {}).get("assetType") == "algorithm"
        else None
        for c in components
    ]
    by_ref = {
        c["bom-ref"]: k
        for c, k in zip(components, own, strict=True)
        if k is not None and c.get("bom-ref")
    }
    rows = []
    for component, classification in zip(components, own, strict=True):
        properties = component.get("cryptoProperties", {})
        if classification is None:
            linked = [by_ref[r] for r in _references(properties) if r in by_ref]
            classification = (
                _worst(linked) if linked else algorithm_index().name(str(component.get("name", "")))
            )
        rows.append(
            CbomAsset(
                bom_ref=component.get("bom-ref"),
                name=component.get("name"),
                asset_type=properties.get("assetType", "unknown"),
                algorithm_class=classification.algorithm_class,
                algorithm=classification.algorithm_id,
                basis=classification.basis,
            )
        )
    return rows


def _references(properties: dict[str, Any]) -> list[str]:
    refs = []
    certificate = properties.get("certificateProperties", {})
    for key in ("signatureAlgorithmRef", "subjectPublicKeyRef"):
        if certificate.get(key):
            refs.append(certificate[key])
    material = properties.get("relatedCryptoMaterialProperties", {})
    if material.get("algorithmRef"):
        refs.append(material["algorithmRef"])
    for suite in properties.get("protocolProperties", {}).get("cipherSuites", []):
        refs.extend(suite.get("algorithms", []))
    return refs


CLASS_ORDER = [
    AlgorithmClass.CLASSICALLY_BROKEN,
    AlgorithmClass.QUANTUM_VULNERABLE,
    AlgorithmClass.UNKNOWN,
    AlgorithmClass.HYBRID,
    AlgorithmClass.QUANTUM_SAFE,
]


def _worst(classifications: list[Classification]) -> Classification:
    return min(classifications, key=lambda c: CLASS_ORDER.index(c.algorithm_class))


def combine(rows: list[CbomAsset]) -> tuple[list[CheckFinding], dict[str, float | None]]:
    counts = Counter(row.algorithm_class for row in rows)
    findings: list[CheckFinding] = []

    def names(kind: AlgorithmClass) -> list[str]:
        return sorted({str(r.name) for r in rows if r.algorithm_class is kind})

    if counts[AlgorithmClass.CLASSICALLY_BROKEN]:
        findings.append(finding("CBOM-001", assets=names(AlgorithmClass.CLASSICALLY_BROKEN)))
    if counts[AlgorithmClass.QUANTUM_VULNERABLE]:
        findings.append(finding("CBOM-002", assets=names(AlgorithmClass.QUANTUM_VULNERABLE)))
    if counts[AlgorithmClass.UNKNOWN]:
        findings.append(finding("CBOM-003", assets=names(AlgorithmClass.UNKNOWN)))
    if counts[AlgorithmClass.QUANTUM_SAFE] or counts[AlgorithmClass.HYBRID]:
        safe = names(AlgorithmClass.QUANTUM_SAFE) + names(AlgorithmClass.HYBRID)
        findings.append(finding("CBOM-005", assets=safe))
    inventory = 100.0 * (len(rows) - counts[AlgorithmClass.UNKNOWN]) / len(rows) if rows else 0.0
    return findings, {"inventory": round(inventory, 1)}


def run_cbom_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    try:
        document = load_cbom(raw)
    except CbomError as exc:
        return assemble("cbom", source, started, [finding("CBOM-004", detail=str(exc))], {})
    rows = classify_assets(document)
    findings, subscores = combine(rows)
    result = CbomResult(
        spec_version=document["specVersion"],
        assets=tuple(rows),
        counts=dict(Counter(row.algorithm_class for row in rows)),
    )
    details = result.as_details()
    return assemble("cbom", source, started, findings, subscores, details, (now or started).date())
