"""Classify X.509 certificates: key type and size, signature algorithm, validity -> findings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import SignatureAlgorithmOID

from checks.catalogue.certificate_seen import CertificateSeen
from checks.findings import CheckFinding, finding
from checks.public_keys import KeyClass, classify_key, classify_key_oid
from pq_crypto.catalogue import AlgorithmClass, Classification, algorithm_index

EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_after: datetime
    key_type: str
    key_bits: int | None
    key_class: Classification
    signature_algorithm: str
    signature_class: Classification
    not_before: datetime | None = None
    key_oid: str | None = None
    signature_oid: str | None = None

    def seen(self) -> CertificateSeen:
        """The certificate as a check's result records it."""
        return CertificateSeen(
            subject=self.subject,
            issuer=self.issuer,
            not_before=self.not_before,
            not_after=self.not_after,
            key_type=self.key_type,
            key_bits=self.key_bits,
            key_security_bits=self.key_class.classical_bits,
            key_class=self.key_class.algorithm_class,
            key_oid=self.key_oid,
            signature_algorithm=self.signature_algorithm,
            signature_oid=self.signature_oid,
            signature_class=self.signature_class.algorithm_class,
        )

    def as_evidence(self) -> dict[str, object]:
        return self.seen().model_dump(mode="json")


def _oid_name(oid: x509.ObjectIdentifier) -> str | None:
    name = oid._name
    return None if not name or name == "Unknown OID" else name


def _key(certificate: x509.Certificate) -> KeyClass:
    oid = certificate.public_key_algorithm_oid
    try:
        return classify_key(certificate.public_key())
    except UnsupportedAlgorithm:
        # A key type the library cannot load (SLH-DSA, GOST, ML-KEM-512): its OID still says
        # what it is.
        return classify_key_oid(oid.dotted_string, _oid_name(oid))
    except ValueError as exc:
        # A known key type whose key is not one (an EC point off its curve): nobody can verify
        # with it, so the certificate is as good as broken.
        name = _oid_name(oid) or oid.dotted_string
        basis = f"the {name} key does not load: {exc}"
        return KeyClass(
            f"{name} (malformed)",
            None,
            Classification(None, AlgorithmClass.CLASSICALLY_BROKEN, basis=basis),
        )


def _signature_digest(certificate: x509.Certificate) -> str | None:
    """The hash the signature is made over (RSASSA-PSS names it in its parameters)."""
    try:
        digest = certificate.signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):
        return None
    return digest.name if digest is not None else None


def signature_classification(certificate: x509.Certificate) -> Classification:
    oid = certificate.signature_algorithm_oid
    index = algorithm_index()
    classification = index.oid(oid.dotted_string)
    if oid == SignatureAlgorithmOID.UNSIGNED:
        return Classification(
            None, AlgorithmClass.UNKNOWN, basis="unsigned certificate (id-alg-unsigned)"
        )
    digest = _signature_digest(certificate)
    hashed = index.name(digest) if digest else None
    # A signature over a broken hash is broken whatever the OID's family: RSASSA-PSS with SHA-1
    # has the same OID as RSASSA-PSS with SHA-256.
    if (
        hashed is not None
        and hashed.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
        and classification.algorithm_class is not AlgorithmClass.CLASSICALLY_BROKEN
    ):
        classification = dataclasses.replace(
            classification,
            algorithm_class=AlgorithmClass.CLASSICALLY_BROKEN,
            basis=f"{classification.basis} over {digest}",
        )
    return classification


def certificate_facts(certificate: x509.Certificate) -> CertificateFacts:
    key = _key(certificate)
    signature_oid = certificate.signature_algorithm_oid
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_type=key.key_type,
        key_bits=key.key_bits,
        key_class=key.classification,
        key_oid=certificate.public_key_algorithm_oid.dotted_string,
        signature_algorithm=_oid_name(signature_oid) or signature_oid.dotted_string,
        signature_oid=signature_oid.dotted_string,
        signature_class=signature_classification(certificate),
    )


def certificate_findings(
    facts: CertificateFacts, now: datetime, position: str = "leaf"
) -> list[CheckFinding]:
    evidence = {"certificate": position, **facts.as_evidence()}
    found = []
    if facts.not_after <= now:
        found.append(finding("CERT-001", **evidence))
    elif facts.not_before is not None and facts.not_before > now:
        days = (facts.not_before - now).days
        found.append(finding("CERT-007", days_until_valid=days, **evidence))
    elif facts.not_after - now <= EXPIRY_WARNING:
        found.append(finding("CERT-002", days_left=(facts.not_after - now).days, **evidence))
    parts = (facts.key_class, facts.signature_class)
    classes = {part.algorithm_class for part in parts}
    if AlgorithmClass.CLASSICALLY_BROKEN in classes:
        found.append(finding("CERT-003", **evidence))
        return found
    if all(part.quantum_resistant for part in parts):
        found.append(finding("CERT-005", **evidence))
        return found
    if AlgorithmClass.QUANTUM_VULNERABLE in classes:
        found.append(finding("CERT-004", **evidence))
    if AlgorithmClass.UNKNOWN in classes:
        found.append(finding("CERT-008", **evidence))
    return found
