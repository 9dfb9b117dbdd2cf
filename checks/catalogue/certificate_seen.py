"""A certificate as a check records it: the TLS check for the chain a server presents, the
certificate check for a file. Not a kind of check (the catalogue loads only CheckKind's
modules); a part two kinds share, kept apart from both so that neither reaches the other's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import PlainSerializer

from checks.catalogue import ResultPart
from checks.cbom_export import algorithm_component
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

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


def certificate_components(
    target: str, certificates: Sequence[CertificateSeen]
) -> list[dict[str, Any]]:
    """Each certificate, and the algorithm it is signed with."""
    index = algorithm_index()
    components = []
    for position, certificate in enumerate(certificates):
        name = certificate.signature_algorithm
        signature = index.oid(certificate.signature_oid or name)
        if signature.algorithm_id is None:
            signature = index.name(name)
        components.append(algorithm_component(name, signature, "signature"))
        properties: dict[str, Any] = {
            "subjectName": certificate.subject,
            "issuerName": certificate.issuer,
            "notValidAfter": certificate.not_after.isoformat(),
            "signatureAlgorithmRef": f"algorithm:{name}",
            "certificateFormat": "X.509",
        }
        if certificate.not_before is not None:
            properties["notValidBefore"] = certificate.not_before.isoformat()
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"certificate:{target}:{position}",
                "name": certificate.subject,
                "cryptoProperties": {
                    "assetType": "certificate",
                    "certificateProperties": properties,
                },
            }
        )
    return components
