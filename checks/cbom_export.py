"""Write what the probes found as a CycloneDX 1.6 CBOM, validated before it is returned.

Each kind of check that sees cryptography names its components builder in its catalogue spec
(`CheckSpec.cbom`); a run of any other kind adds nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from checks.catalogue import CbomComponents, UnknownCheckKind, spec_for
from checks.report import CheckReport
from pq_crypto.catalogue import Classification, algorithm_index

PRIMITIVES = {
    "kem": "kem",
    "key-agreement": "key-agree",
    "signature": "signature",
    "symmetric": "ae",
    "hash": "hash",
    "mac": "mac",
}


def algorithm_component(name: str, classification: Classification, usage: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"primitive": PRIMITIVES.get(usage, "other")}
    if classification.quantum_resistant:
        properties["nistQuantumSecurityLevel"] = classification.nist_category or 1
    elif classification.algorithm_id is not None:
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
    }


def tls_components(report: CheckReport) -> list[dict[str, Any]]:
    """The groups an endpoint supports, the protocol it negotiated and its certificates."""
    index = algorithm_index()
    components = []
    for group in report.details.get("groups", []):
        if group["supported"]:
            classification = index.tls_group(group["code"])
            usage = (
                index.get(classification.algorithm_id).usage
                if classification.algorithm_id
                else "kem"
            )
            components.append(algorithm_component(group["name"], classification, usage))
    handshake = report.details.get("handshake", {})
    if handshake.get("protocol"):
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"protocol:{report.target}",
                "name": f"{handshake['protocol']} at {report.target}",
                "cryptoProperties": {
                    "assetType": "protocol",
                    "protocolProperties": {
                        "type": "tls",
                        "version": handshake["protocol"].removeprefix("TLSv"),
                        "cipherSuites": [{"name": handshake.get("cipher") or "unknown"}],
                    },
                },
            }
        )
    return components + certificate_components(report)


def certificate_components(report: CheckReport) -> list[dict[str, Any]]:
    index = algorithm_index()
    components = []
    for position, certificate in enumerate(report.details.get("certificates", [])):
        signature = index.name(certificate["signature_algorithm"])
        if signature.algorithm_id is None:
            signature = index.oid(certificate["signature_algorithm"])
        name = certificate["signature_algorithm"]
        components.append(algorithm_component(name, signature, "signature"))
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"certificate:{report.target}:{position}",
                "name": certificate["subject"],
                "cryptoProperties": {
                    "assetType": "certificate",
                    "certificateProperties": {
                        "subjectName": certificate["subject"],
                        "issuerName": certificate["issuer"],
                        "notValidAfter": certificate["not_after"],
                        "signatureAlgorithmRef": f"algorithm:{name}",
                        "certificateFormat": "X.509",
                    },
                },
            }
        )
    return components


def ssh_components(report: CheckReport) -> list[dict[str, Any]]:
    index = algorithm_index()
    components = []
    for key, usage in (("kex_algorithms", "kem"), ("host_key_algorithms", "signature")):
        for entry in report.details.get(key, []):
            classification = index.ssh(entry["name"])
            if classification.algorithm_id:
                usage = index.get(classification.algorithm_id).usage
            components.append(algorithm_component(entry["name"], classification, usage))
    return components


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
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
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
