"""A certificate as a check records it: the TLS check for the chain a server presents, the
certificate check for a file. Not a kind of check (the catalogue loads only CheckKind's
modules); a part two kinds share, kept apart from both so that neither reaches the other's code.
Both write it to a CBOM the same way (`certificate_assets`), from the verdicts the run stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import PlainSerializer

from checks.catalogue import ResultPart
from checks.cbom_export import stored_algorithm_component
from pq_crypto.catalogue import (
    UNKNOWN,
    AlgorithmClass,
    Classification,
    algorithm_index,
    rsa_classification,
)

Component = dict[str, Any]

# Written as isoformat() (`+00:00`), as stored runs and findings' evidence have it, not as
# pydantic's `Z`, so a stored run reads back to the very details it was written with.
IsoTime = Annotated[
    datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json")
]


class CertificateSeen(ResultPart):
    """One certificate: who it names, when it expires, its key and signature and how the
    algorithm policy classifies them."""

    subject: str
    issuer: str
    not_before: IsoTime | None = None  # None in runs stored before it was recorded
    not_after: IsoTime
    key_type: str
    key_bits: int | None = None  # the curve's or modulus's size: 448 for Ed448, not 456
    key_security_bits: int | None = None  # classical security, when the policy gives it
    key_class: AlgorithmClass
    key_oid: str | None = None
    signature_algorithm: str  # the OID's name, or the dotted OID when it has none
    signature_oid: str | None = None
    signature_class: AlgorithmClass


# SubjectPublicKeyInfo algorithm OIDs, for runs stored before `key_oid` was recorded.
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"


@cache
def _signature_oids() -> dict[str, str]:
    """cryptography's names of signature algorithm OIDs (what a certificate records) -> OID."""
    # Imported here: the CLI builds `assure check` from this module, and only a run that
    # names a stored signature needs cryptography's OID table.
    from cryptography.x509.oid import ObjectIdentifier, SignatureAlgorithmOID

    return {
        oid._name: oid.dotted_string
        for oid in vars(SignatureAlgorithmOID).values()
        if isinstance(oid, ObjectIdentifier) and oid._name != "Unknown OID"
    }


def _algorithm(
    name: str,
    stored: AlgorithmClass,
    today: Classification,
    usage: str,
    oid: str | None = None,
    classical_bits: int | None = None,
) -> Component:
    component = stored_algorithm_component(name, stored, today, usage, classical_bits)
    if oid:
        component["cryptoProperties"]["oid"] = oid
    return component


def _signature(certificate: CertificateSeen) -> Component:
    name = certificate.signature_algorithm
    oid = certificate.signature_oid or (name if name[:1].isdigit() else _signature_oids().get(name))
    index = algorithm_index()
    today = index.oid(oid) if oid else index.name(name)
    if today.algorithm_id is None:
        today = index.name(name)
    # The class the run stored: a signature over SHA-1 is broken whatever its OID's family says
    # (checks/certificates.py), which the OID alone cannot tell.
    return _algorithm(name, certificate.signature_class, today, "signature", oid)


def _key_algorithm(certificate: CertificateSeen) -> Component:
    index = algorithm_index()
    kind, bits, oid = certificate.key_type, certificate.key_bits, certificate.key_oid
    stored, security = certificate.key_class, certificate.key_security_bits
    if kind == "RSA" and bits:
        today = rsa_classification(bits)
        component = _algorithm(
            f"RSA-{bits}", stored, today, "signature", oid or RSA_ENCRYPTION, security
        )
        component["cryptoProperties"]["algorithmProperties"]["parameterSetIdentifier"] = str(bits)
        return component
    if kind.startswith("EC "):
        named = kind.removeprefix("EC ")
        curve = index.curve(named)
        # A curve the catalogue lacks keeps the name the run gave it: an unknown curve, said so.
        name = curve.signature if curve else kind
        today = index.classify(index.get(curve.signature), f"curve {named}") if curve else UNKNOWN
        component = _algorithm(name, stored, today, "signature", oid or ID_EC_PUBLIC_KEY, security)
        component["cryptoProperties"]["algorithmProperties"]["curve"] = (
            curve.name if curve else named
        )
        return component
    today = index.name(kind)
    # The catalogue's id and usage for the key type the run named (ML-KEM-768 is a KEM); the run
    # stored neither. A key type it does not know is named as the run named it.
    usage = index.get(today.algorithm_id).usage if today.algorithm_id else "signature"
    return _algorithm(today.algorithm_id or kind, stored, today, usage, oid, security)


def certificate_assets(target: str, certificates: Sequence[CertificateSeen]) -> list[Component]:
    """Each certificate, its signature algorithm, and its subject's public key with the key's
    algorithm: what a reader needs to classify a certificate by what it refers to. The classes
    are those the run stored, whatever the catalogue says today."""
    components: list[Component] = []
    for position, certificate in enumerate(certificates):
        signature = _signature(certificate)
        key_algorithm = _key_algorithm(certificate)
        key_ref = f"key:{target}:{position}"
        material: dict[str, Any] = {"type": "public-key", "algorithmRef": key_algorithm["bom-ref"]}
        if certificate.key_bits:
            material["size"] = certificate.key_bits
        properties: dict[str, Any] = {
            "subjectName": certificate.subject,
            "issuerName": certificate.issuer,
            "notValidAfter": certificate.not_after.isoformat(),
            "signatureAlgorithmRef": signature["bom-ref"],
            "subjectPublicKeyRef": key_ref,
            "certificateFormat": "X.509",
        }
        if certificate.not_before is not None:
            properties["notValidBefore"] = certificate.not_before.isoformat()
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
                    "certificateProperties": properties,
                },
            },
        ]
    return components
