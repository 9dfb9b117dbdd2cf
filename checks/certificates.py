"""Classify X.509 certificates: key type and size, signature algorithm, expiry -> findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, mldsa, rsa

from checks.catalogue.certificate_seen import CertificateSeen
from checks.findings import CheckFinding, finding
from pq_crypto.catalogue import AlgorithmClass, Classification, algorithm_index, rsa_classification

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

    def seen(self) -> CertificateSeen:
        """The certificate as a check's result records it."""
        return CertificateSeen(
            subject=self.subject,
            issuer=self.issuer,
            not_after=self.not_after,
            key_type=self.key_type,
            key_bits=self.key_bits,
            key_class=self.key_class.algorithm_class,
            signature_algorithm=self.signature_algorithm,
            signature_class=self.signature_class.algorithm_class,
        )

    def as_evidence(self) -> dict[str, object]:
        return self.seen().model_dump(mode="json")


def _key(certificate: x509.Certificate) -> tuple[str, int | None, Classification]:
    index = algorithm_index()
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, rsa_classification(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        name = {
            "secp256r1": "ECDSA-P256",
            "secp384r1": "ECDSA-P384",
            "secp521r1": "ECDSA-P521",
        }.get(key.curve.name)
        classification = (
            index.name(name)
            if name
            else Classification(
                None, AlgorithmClass.QUANTUM_VULNERABLE, basis=f"curve {key.curve.name}"
            )
        )
        return f"EC {key.curve.name}", key.key_size, classification
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, index.name("Ed25519")
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, index.name("Ed448")
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, index.name("DSA")
    for size, cls in (
        (44, mldsa.MLDSA44PublicKey),
        (65, mldsa.MLDSA65PublicKey),
        (87, mldsa.MLDSA87PublicKey),
    ):
        if isinstance(key, cls):
            return f"ML-DSA-{size}", None, index.name(f"ML-DSA-{size}")
    return type(key).__name__, None, index.oid(certificate.public_key_algorithm_oid.dotted_string)


def certificate_facts(certificate: x509.Certificate) -> CertificateFacts:
    key_type, bits, key_class = _key(certificate)
    signature_oid = certificate.signature_algorithm_oid
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
        key_type=key_type,
        key_bits=bits,
        key_class=key_class,
        signature_algorithm=signature_oid._name or signature_oid.dotted_string,
        signature_class=algorithm_index().oid(signature_oid.dotted_string),
    )


def certificate_findings(
    facts: CertificateFacts, now: datetime, position: str = "leaf"
) -> list[CheckFinding]:
    evidence = {"certificate": position, **facts.as_evidence()}
    found = []
    if facts.not_after <= now:
        found.append(finding("CERT-001", **evidence))
    elif facts.not_after - now <= EXPIRY_WARNING:
        found.append(finding("CERT-002", days_left=(facts.not_after - now).days, **evidence))
    classes = {facts.key_class.algorithm_class, facts.signature_class.algorithm_class}
    if AlgorithmClass.CLASSICALLY_BROKEN in classes:
        found.append(finding("CERT-003", **evidence))
    elif facts.key_class.quantum_resistant and facts.signature_class.quantum_resistant:
        found.append(finding("CERT-005", **evidence))
    else:
        found.append(finding("CERT-004", **evidence))
    return found
