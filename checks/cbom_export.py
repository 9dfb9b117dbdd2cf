"""Write what the probes found as a CycloneDX 1.6 CBOM, validated before it is returned."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

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


def _algorithm(name: str, classification: Classification, usage: str) -> dict[str, Any]:
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


def _tls_components(report: CheckReport) -> list[dict[str, Any]]:
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
            components.append(_algorithm(group["name"], classification, usage))
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
    for position, certificate in enumerate(report.details.get("certificates", [])):
        signature = index.name(certificate["signature_algorithm"])
        if signature.algorithm_id is None:
            signature = index.oid(certificate["signature_algorithm"])
        name = certificate["signature_algorithm"]
        components.append(_algorithm(name, signature, "signature"))
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


def _ssh_components(report: CheckReport) -> list[dict[str, Any]]:
    index = algorithm_index()
    components = []
    for key, usage in (("kex_algorithms", "kem"), ("host_key_algorithms", "signature")):
        for entry in report.details.get(key, []):
            classification = index.ssh(entry["name"])
            if classification.algorithm_id:
                usage = index.get(classification.algorithm_id).usage
            components.append(_algorithm(entry["name"], classification, usage))
    return components


def _jwks_components(report: CheckReport) -> list[dict[str, Any]]:
    components = []
    for key in report.details.get("keys", []):
        name = key.get("algorithm") or key.get("alg") or key.get("kty") or "unknown"
        classification = algorithm_index().name(str(name))
        components.append(_algorithm(str(name), classification, "signature"))
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"key:{key['index']}",
                "name": str(key.get("kid") or f"key {key['index']}"),
                "cryptoProperties": {
                    "assetType": "related-crypto-material",
                    "relatedCryptoMaterialProperties": {
                        "type": "public-key",
                        "algorithmRef": f"algorithm:{name}",
                    },
                },
            }
        )
    return components


BUILDERS = {
    "tls": _tls_components,
    "ssh": _ssh_components,
    "jwks": _jwks_components,
    "cert": _tls_components,
}


def build_cbom(reports: list[CheckReport], subject: str) -> dict[str, Any]:
    components: dict[str, dict[str, Any]] = {}
    for report in reports:
        for component in BUILDERS.get(report.kind, lambda _r: [])(report):
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
