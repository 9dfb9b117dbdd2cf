"""The JWKS check: classify every key in a JSON Web Key Set, read as plain JSON.

PyJWT's PyJWKSet silently drops key types it does not know (ML-DSA's "AKP" among them), which
would hide exactly the keys this check looks for, so the set is parsed directly.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from checks.catalogue.jwks import JwksKey, JwksResult
from checks.findings import CheckFinding, finding
from checks.readiness import assemble, signature_score
from checks.report import CheckReport
from checks.safe_parse import InputRefused, Limits, load_json
from pq_crypto.catalogue import (
    AlgorithmClass,
    Classification,
    algorithm_index,
    rsa_classification,
)

MAX_JWKS_BYTES = 1024 * 1024
MAX_KEYS = 500
JWKS_LIMITS = Limits(max_bytes=MAX_JWKS_BYTES)
EC_CURVES = {"P-256": "ECDSA-P256", "P-384": "ECDSA-P384", "P-521": "ECDSA-P521"}


class JwksError(ValueError):
    pass


def _rsa_bits(modulus: str) -> int:
    padded = modulus + "=" * (-len(modulus) % 4)
    return int.from_bytes(base64.urlsafe_b64decode(padded), "big").bit_length()


def classify_jwk(key: dict[str, Any]) -> Classification:
    index = algorithm_index()
    kty, alg = key.get("kty"), key.get("alg")
    if kty == "AKP":
        return index.jose(str(alg)) if alg else index.name(str(key.get("pub", "")))
    if kty == "RSA" and isinstance(key.get("n"), str):
        try:
            return rsa_classification(_rsa_bits(key["n"]))
        except (ValueError, TypeError):
            return Classification(None, AlgorithmClass.UNKNOWN, basis="unreadable RSA modulus")
    if kty == "EC":
        return index.name(EC_CURVES.get(str(key.get("crv")), f"EC {key.get('crv')}"))
    if kty == "OKP":
        return index.name(str(key.get("crv")))
    if alg:
        return index.jose(str(alg))
    return Classification(None, AlgorithmClass.UNKNOWN, basis=f"key type {kty!r}")


def parse_jwks(raw: bytes) -> list[dict[str, Any]]:
    try:
        document = load_json(raw, JWKS_LIMITS)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JwksError(f"not JSON: {exc}") from exc
    except InputRefused as exc:
        raise JwksError(str(exc)) from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise JwksError('no top-level "keys" array of objects')
    if len(keys) > MAX_KEYS:
        raise JwksError(f"more than {MAX_KEYS} keys")
    return keys


def combine(
    keys: list[dict[str, Any]],
) -> tuple[list[CheckFinding], dict[str, float | None], JwksResult]:
    classes = [classify_jwk(key) for key in keys]
    result = JwksResult(
        keys=tuple(
            JwksKey(
                index=position,
                kid=key.get("kid"),
                kty=key.get("kty"),
                alg=key.get("alg"),
                crv=key.get("crv"),
                use=key.get("use"),
                algorithm=classification.algorithm_id,
                basis=classification.basis,
                algorithm_class=classification.algorithm_class,
            )
            for position, (key, classification) in enumerate(zip(keys, classes, strict=True))
        )
    )
    findings: list[CheckFinding] = []
    known = [c for c in classes if c.algorithm_class is not AlgorithmClass.UNKNOWN]
    broken = [
        k.label for k in result.keys if k.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken:
        findings.append(finding("JWKS-002", keys=broken))
    pq = [k.label for k, c in zip(result.keys, classes, strict=True) if c.quantum_resistant]
    if pq:
        findings.append(finding("JWKS-003", keys=pq))
    elif known:
        findings.append(finding("JWKS-001", keys=len(known)))
    unknown = [k.label for k in result.keys if k.algorithm_class is AlgorithmClass.UNKNOWN]
    if unknown:
        findings.append(finding("JWKS-004", keys=unknown))
    subscores: dict[str, float | None] = {
        "signatures_and_certificates": signature_score(known) if known else None,
    }
    return findings, subscores, result


def run_jwks_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    details: dict[str, Any] = {}
    try:
        findings, subscores, result = combine(parse_jwks(raw))
        details = result.as_details()
    except JwksError as exc:
        findings, subscores = [finding("JWKS-005", detail=str(exc))], {}
    return assemble("jwks", source, started, findings, subscores, details, (now or started).date())
