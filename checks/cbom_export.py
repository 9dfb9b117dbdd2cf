"""Write what the probes found as a CycloneDX 1.6 CBOM, validated before it is returned.

Each kind of check that sees cryptography names its components builder in its catalogue spec
(`CheckSpec.cbom`), which reads the run through the kind's typed result; a run of any other
kind adds nothing. What the builders share (an algorithm as a component) is here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from checks.catalogue import CbomComponents, UnknownCheckKind, spec_for
from checks.report import CheckReport
from kernel.ids import urn_uuid
from pq_crypto.catalogue import AlgorithmClass, Classification, algorithm_index

PRIMITIVES = {
    "kem": "kem",
    "key-agreement": "key-agree",
    "signature": "signature",
    "symmetric": "ae",
    "hash": "hash",
    "mac": "mac",
}


# The class the run gave an algorithm, which CycloneDX has no field for (its quantum level
# cannot tell quantum-vulnerable from classically broken): a reader need not re-classify.
CLASS_PROPERTY = "policetech-assure:algorithm-class"
VULNERABLE_CLASSES = {AlgorithmClass.QUANTUM_VULNERABLE, AlgorithmClass.CLASSICALLY_BROKEN}


def as_stored(
    stored: AlgorithmClass, today: Classification, classical_bits: int | None = None
) -> Classification:
    """The verdict a run stored, not the one today's catalogue would give. The run stores a
    class (and a key's classical strength); what it did not store (the NIST category, the
    catalogue id that gives the OID) comes from today's catalogue, and the category and strength
    only when today's catalogue gives the same class, so they never contradict the stored one."""
    agrees = today.algorithm_class is stored
    return replace(
        today,
        algorithm_class=stored,
        nist_category=today.nist_category if agrees else None,
        classical_bits=classical_bits or (today.classical_bits if agrees else None),
    )


def stored_algorithm_component(
    name: str,
    stored: AlgorithmClass,
    today: Classification,
    usage: str,
    classical_bits: int | None = None,
) -> dict[str, Any]:
    """An algorithm as a run judged it (`as_stored`). A verdict other than today's catalogue's
    goes under its own bom-ref, so it never merges with the same algorithm judged otherwise
    (the first of two components with one ref is the one kept)."""
    component = algorithm_component(name, as_stored(stored, today, classical_bits), usage)
    if stored is not today.algorithm_class:
        component["bom-ref"] += f"@{stored}"
    return component


def algorithm_component(name: str, classification: Classification, usage: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"primitive": PRIMITIVES.get(usage, "other")}
    if classification.quantum_resistant:
        properties["nistQuantumSecurityLevel"] = classification.nist_category or 1
    elif classification.algorithm_class in VULNERABLE_CLASSES:
        properties["nistQuantumSecurityLevel"] = 0
    if classification.classical_bits:
        properties["classicalSecurityLevel"] = classification.classical_bits
    crypto: dict[str, Any] = {"assetType": "algorithm", "algorithmProperties": properties}
    if classification.algorithm_id:
        algorithm = algorithm_index().get(classification.algorithm_id)
        if algorithm.oids:
            crypto["oid"] = algorithm.oids[0]
    return {
        "type": "cryptographic-asset",
        "bom-ref": f"algorithm:{name}",
        "name": name,
        "cryptoProperties": crypto,
        "properties": [{"name": CLASS_PROPERTY, "value": str(classification.algorithm_class)}],
    }


def _builder(kind: str) -> CbomComponents | None:
    try:
        return spec_for(kind).cbom
    except UnknownCheckKind:
        return None  # a stored run of a kind no longer in the catalogue


def has_cbom(kind: str) -> bool:
    """Whether a run of this kind can be written as a CBOM."""
    return _builder(kind) is not None


def build_cbom(reports: list[CheckReport], subject: str) -> dict[str, Any]:
    # Loaded here: the schema validator takes a second to import, and only an export needs it.
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    components: dict[str, dict[str, Any]] = {}
    for report in reports:
        builder = _builder(report.kind)
        for component in builder(report) if builder else []:
            components.setdefault(component["bom-ref"], component)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": urn_uuid(),
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "PoliceTech Assure"}]},
            "component": {"type": "application", "name": subject},
        },
        "components": list(components.values()),
    }
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    if error is not None:
        raise ValueError(f"generated CBOM fails the CycloneDX 1.6 schema: {error}")
    return document
