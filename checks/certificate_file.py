"""The certificate check for uploaded files: PEM (one or a chain) or DER."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from checks.catalogue.cert import CertResult
from checks.certificates import certificate_facts, certificate_findings
from checks.findings import finding
from checks.readiness import assemble, signature_score
from checks.report import CheckReport

MAX_CERTIFICATE_BYTES = 512 * 1024


def load_certificates(raw: bytes) -> list[x509.Certificate]:
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise ValueError(f"larger than {MAX_CERTIFICATE_BYTES} bytes")
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificates(raw)
    return [x509.load_der_x509_certificate(raw)]


def run_certificate_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    moment = now or started
    try:
        facts = [certificate_facts(c) for c in load_certificates(raw)]
    except (ValueError, UnsupportedAlgorithm) as exc:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        return assemble("cert", source, started, [finding("CERT-006", detail=detail)], {})
    findings = []
    for position, fact in enumerate(facts):
        label = "leaf" if position == 0 else f"chain[{position}]"
        findings.extend(
            f
            for f in certificate_findings(fact, moment, label)
            # Beyond the leaf, what breaks the chain for every client: a certificate out of its
            # validity period, or a broken key or signature.
            if position == 0 or f.code in {"CERT-001", "CERT-003", "CERT-007"}
        )
    score = signature_score([c for f in facts for c in (f.key_class, f.signature_class)])
    if facts[0].not_after <= moment:
        score = 0.0
    subscores: dict[str, float | None] = {"signatures_and_certificates": score}
    result = CertResult(certificates=tuple(f.seen() for f in facts))
    return assemble(
        "cert", source, started, findings, subscores, result.as_details(), moment.date()
    )
