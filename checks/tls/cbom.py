"""A TLS run as CycloneDX 1.6 components that a CBOM reader can classify without guessing: each
supported group; the negotiated protocol with its cipher suite, whose algorithms name the group
and the suite's cipher and hash; each certificate with its signature algorithm (by its OID) and
its subject's public key (a key component referring to the key's algorithm)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from cryptography.x509.oid import ObjectIdentifier, SignatureAlgorithmOID

from checks.catalogue.certificate_seen import CertificateSeen
from checks.catalogue.tls import TlsResult
from checks.cbom_export import algorithm_component
from checks.tls.policy import cipher_suites
from pq_crypto.catalogue import Classification, algorithm_index, rsa_classification

Component = dict[str, Any]

# A certificate's key as the certificate check records it (checks/certificates.py), and the
# catalogue id and SubjectPublicKeyInfo algorithm OID it stands for. RSA is sized separately.
EC_KEYS = {"secp256r1": "ECDSA-P256", "secp384r1": "ECDSA-P384", "secp521r1": "ECDSA-P521"}
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"


@cache
def _signature_oids() -> dict[str, str]:
    """cryptography's names of signature algorithm OIDs (what a certificate records) -> OID."""
    return {
        oid._name: oid.dotted_string
        for oid in vars(SignatureAlgorithmOID).values()
        if isinstance(oid, ObjectIdentifier) and oid._name != "Unknown OID"
    }


def _algorithm(
    name: str, classification: Classification, usage: str, oid: str | None = None
) -> Component:
    component = algorithm_component(name, classification, usage)
    if oid:
        component["cryptoProperties"]["oid"] = oid
    return component


def _by_id(algorithm_id: str) -> Component:
    algorithm = algorithm_index().get(algorithm_id)
    return _algorithm(algorithm.id, algorithm_index().name(algorithm.id), algorithm.usage)


def _signature(certificate: CertificateSeen) -> Component:
    name = certificate.signature_algorithm
    oid = name if name[:1].isdigit() else _signature_oids().get(name)
    index = algorithm_index()
    classification = index.oid(oid) if oid else index.name(name)
    if classification.algorithm_id is None:
        classification = index.name(name)
    return _algorithm(name, classification, "signature", oid)


def _key_algorithm(certificate: CertificateSeen) -> Component:
    index = algorithm_index()
    kind, bits = certificate.key_type, certificate.key_bits
    if kind == "RSA" and bits:
        component = _algorithm(f"RSA-{bits}", rsa_classification(bits), "signature", RSA_ENCRYPTION)
        component["cryptoProperties"]["algorithmProperties"]["parameterSetIdentifier"] = str(bits)
        return component
    curve = kind.removeprefix("EC ")
    if curve in EC_KEYS:
        component = _algorithm(
            EC_KEYS[curve], index.name(EC_KEYS[curve]), "signature", ID_EC_PUBLIC_KEY
        )
        component["cryptoProperties"]["algorithmProperties"]["curve"] = curve
        return component
    classification = index.name(kind)
    if classification.algorithm_id is not None:
        return _by_id(classification.algorithm_id)
    return _algorithm(kind, classification, "signature")


def certificate_assets(target: str, certificates: Sequence[CertificateSeen]) -> list[Component]:
    """Each certificate, its signature algorithm, and its subject's public key with the key's
    algorithm: what a reader needs to classify a certificate by what it refers to."""
    components: list[Component] = []
    for position, certificate in enumerate(certificates):
        signature = _signature(certificate)
        key_algorithm = _key_algorithm(certificate)
        key_ref = f"key:{target}:{position}"
        material: dict[str, Any] = {"type": "public-key", "algorithmRef": key_algorithm["bom-ref"]}
        if certificate.key_bits:
            material["size"] = certificate.key_bits
        components += [
            signature,
            key_algorithm,
            {
                "type": "cryptographic-asset",
                "bom-ref": key_ref,
                "name": f"{certificate.key_type} public key of {certificate.subject}",
                "cryptoProperties": {
                    "assetType": "related-crypto-material",
                    "relatedCryptoMaterialProperties": material,
                },
            },
            {
                "type": "cryptographic-asset",
                "bom-ref": f"certificate:{target}:{position}",
                "name": certificate.subject,
                "cryptoProperties": {
                    "assetType": "certificate",
                    "certificateProperties": {
                        "subjectName": certificate.subject,
                        "issuerName": certificate.issuer,
                        "notValidAfter": certificate.not_after.isoformat(),
                        "signatureAlgorithmRef": signature["bom-ref"],
                        "subjectPublicKeyRef": key_ref,
                        "certificateFormat": "X.509",
                    },
                },
            },
        ]
    return components


def _protocol(target: str, result: TlsResult) -> list[Component]:
    handshake = result.handshake
    if handshake is None or not handshake.protocol:
        return []
    components: list[Component] = []
    refs: list[str] = []
    group = algorithm_index().name(handshake.group or "").algorithm_id
    if group is not None:
        components.append(_by_id(group))
        refs.append(components[-1]["bom-ref"])
    cipher = handshake.cipher or "unknown"
    suite: dict[str, Any] = {"name": cipher}
    known = cipher_suites().named(cipher)
    if known is not None:
        components += [_by_id(algorithm) for algorithm in known.algorithms]
        suite = {
            "name": known.name,
            "identifiers": [f"0x{known.code >> 8:02X}", f"0x{known.code & 0xFF:02X}"],
        }
        refs += [f"algorithm:{algorithm}" for algorithm in known.algorithms]
    if refs:
        suite["algorithms"] = refs
    certificates = [f"certificate:{target}:{n}" for n in range(len(result.certificates))]
    properties: dict[str, Any] = {
        "type": "tls",
        "version": handshake.protocol.removeprefix("TLSv"),
        "cipherSuites": [suite],
    }
    related = refs[:1] + certificates if group is not None else certificates
    if related:
        properties["cryptoRefArray"] = related
    components.append(
        {
            "type": "cryptographic-asset",
            "bom-ref": f"protocol:{target}",
            "name": f"{handshake.protocol} at {target}",
            "cryptoProperties": {"assetType": "protocol", "protocolProperties": properties},
        }
    )
    return components


def tls_components(target: str, result: TlsResult) -> list[Component]:
    """The groups the endpoint supports, the protocol it negotiated and its certificates, each
    component once."""
    index = algorithm_index()
    components: list[Component] = []
    for group in result.groups:
        if group.supported:
            classification = index.tls_group(group.code)
            usage = (
                index.get(classification.algorithm_id).usage
                if classification.algorithm_id
                else "kem"
            )
            components.append(algorithm_component(group.name, classification, usage))
    components += _protocol(target, result)
    components += certificate_assets(target, result.certificates)
    unique: dict[str, Component] = {}
    for component in components:
        unique.setdefault(component["bom-ref"], component)
    return list(unique.values())
