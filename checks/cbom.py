"""CBOM import: validate a CycloneDX 1.6/1.7 cryptography BOM and classify every asset.

Classification order, as the asset allows: nistQuantumSecurityLevel, then OID, then name.
A level of 0 says "quantum-vulnerable" but not whether the algorithm is also broken classically,
so a catalogue match on OID or name that says "classically broken" refines it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from checks.findings import CheckFinding, finding
from checks.readiness import assemble
from checks.report import CheckReport
from pq_crypto.catalogue import (
    UNKNOWN,
    AlgorithmClass,
    Classification,
    algorithm_index,
    rsa_classification,
)

MAX_CBOM_BYTES = 20 * 1024 * 1024
SUPPORTED_VERSIONS = {"1.6", "1.7"}


class CbomError(ValueError):
    pass


def load_cbom(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_CBOM_BYTES:
        raise CbomError(f"larger than {MAX_CBOM_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CbomError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise CbomError("not a CycloneDX document (bomFormat must be CycloneDX)")
    version = str(document.get("specVersion"))
    if version not in SUPPORTED_VERSIONS:
        raise CbomError(f"specVersion {version} is not supported; use 1.6 or 1.7")
    error = JsonStrictValidator(SchemaVersion.from_version(version)).validate_str(
        raw.decode("utf-8")
    )
    if error is not None:
        detail = getattr(error, "data", None)
        message = getattr(detail, "message", None) or str(error)
        path = "/".join(str(p) for p in getattr(detail, "absolute_path", []) or [])
        raise CbomError(f"fails the CycloneDX {version} schema at /{path}: {message[:300]}")
    return document


def _components(document: dict[str, Any]) -> list[dict[str, Any]]:
    found, stack = [], list(document.get("components", []))
    while stack:
        component = stack.pop(0)
        found.append(component)
        stack.extend(component.get("components", []))
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


def classify_assets(document: dict[str, Any]) -> list[dict[str, Any]]:
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
            {
                "bom_ref": component.get("bom-ref"),
                "name": component.get("name"),
                "asset_type": properties.get("assetType", "unknown"),
                "class": classification.algorithm_class.value,
                "algorithm": classification.algorithm_id,
                "basis": classification.basis,
            }
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


def combine(rows: list[dict[str, Any]]) -> tuple[list[CheckFinding], dict[str, float | None]]:
    counts = Counter(row["class"] for row in rows)
    findings: list[CheckFinding] = []

    def names(kind: str) -> list[str]:
        return sorted({str(r["name"]) for r in rows if r["class"] == kind})

    if counts["classically-broken"]:
        findings.append(finding("CBOM-001", assets=names("classically-broken")))
    if counts["quantum-vulnerable"]:
        findings.append(finding("CBOM-002", assets=names("quantum-vulnerable")))
    if counts["unknown"]:
        findings.append(finding("CBOM-003", assets=names("unknown")))
    if counts["quantum-safe"] or counts["hybrid"]:
        findings.append(finding("CBOM-005", assets=names("quantum-safe") + names("hybrid")))
    inventory = 100.0 * (len(rows) - counts["unknown"]) / len(rows) if rows else 0.0
    return findings, {"inventory": round(inventory, 1)}


def run_cbom_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    try:
        document = load_cbom(raw)
    except CbomError as exc:
        return assemble("cbom", source, started, [finding("CBOM-004", detail=str(exc))], {})
    rows = classify_assets(document)
    findings, subscores = combine(rows)
    details = {
        "spec_version": document["specVersion"],
        "assets": rows,
        "counts": dict(Counter(row["class"] for row in rows)),
    }
    return assemble("cbom", source, started, findings, subscores, details, (now or started).date())
