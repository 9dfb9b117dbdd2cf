"""The JWKS check: judge every key in a JSON Web Key Set, read as plain JSON.

PyJWT's PyJWKSet silently drops key types it does not know (ML-DSA's "AKP" among them), which
would hide exactly the keys this check looks for, so the set is parsed directly. Each key's
material is loaded before its algorithm is classified (checks/jwk_material.py), and a public key
set that carries a private or secret member has published a compromised key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from checks.catalogue.jwks import JwksKey, JwksResult
from checks.findings import CheckFinding, finding
from checks.jwk_material import MalformedKey, load_jwk, private_members
from checks.public_keys import classify_key
from checks.readiness import assemble, signature_score
from checks.report import CheckReport
from checks.safe_parse import InputRefused, Limits, load_json
from pq_crypto.catalogue import AlgorithmClass, Classification

MAX_JWKS_BYTES = 1024 * 1024
MAX_KEYS = 500
JWKS_LIMITS = Limits(max_bytes=MAX_JWKS_BYTES)


class JwksError(ValueError):
    pass


@dataclass(frozen=True)
class KeyVerdict:
    classification: Classification
    problem: str | None = None  # why the key's material is malformed
    private: tuple[str, ...] = ()  # the private or secret members it publishes


def _unknown(key: dict[str, Any]) -> Classification:
    """A key type, curve or algorithm this check cannot load, named as the set names it."""
    kty, crv, alg = key.get("kty"), key.get("crv"), key.get("alg")
    if kty == "oct":
        basis = "a symmetric (oct) key"
    elif crv is not None:
        basis = f"kty {kty!r} with curve {crv!r}"
    elif alg is not None:
        basis = f"kty {kty!r} with alg {alg!r}"
    else:
        basis = f"kty {kty!r}"
    return Classification(None, AlgorithmClass.UNKNOWN, basis=basis)


def judge_jwk(key: dict[str, Any]) -> KeyVerdict:
    private = private_members(key)
    try:
        loaded = load_jwk(key)
    except MalformedKey as exc:
        problem = str(exc)
        unusable = Classification(None, AlgorithmClass.UNKNOWN, basis=f"malformed: {problem}")
        return KeyVerdict(unusable, problem, private)
    if loaded is None:
        return KeyVerdict(_unknown(key), None, private)
    return KeyVerdict(classify_key(loaded).classification, None, private)


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


def _entry(position: int, key: dict[str, Any], verdict: KeyVerdict) -> JwksKey:
    return JwksKey(
        index=position,
        kid=key.get("kid"),
        kty=key.get("kty"),
        alg=key.get("alg"),
        crv=key.get("crv"),
        use=key.get("use"),
        algorithm=verdict.classification.algorithm_id,
        basis=verdict.classification.basis,
        algorithm_class=verdict.classification.algorithm_class,
        problem=verdict.problem,
        private_members=verdict.private,
    )


def combine(
    keys: list[dict[str, Any]],
) -> tuple[list[CheckFinding], dict[str, float | None], JwksResult]:
    verdicts = [judge_jwk(key) for key in keys]
    result = JwksResult(
        keys=tuple(_entry(n, key, v) for n, (key, v) in enumerate(zip(keys, verdicts, strict=True)))
    )
    pairs = list(zip(result.keys, verdicts, strict=True))
    findings: list[CheckFinding] = []
    # Only the member names go in the evidence: the values are the secret.
    leaked = [{"key": k.label, "members": list(v.private)} for k, v in pairs if v.private]
    if leaked:
        findings.append(finding("JWKS-006", keys=leaked))
    malformed = [{"key": k.label, "problem": v.problem} for k, v in pairs if v.problem]
    if malformed:
        findings.append(finding("JWKS-007", keys=malformed))
    known = [
        v.classification
        for v in verdicts
        if v.classification.algorithm_class is not AlgorithmClass.UNKNOWN
    ]
    broken = [
        k.label for k in result.keys if k.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    ]
    if broken:
        findings.append(finding("JWKS-002", keys=broken))
    pq = [k.label for k, v in pairs if v.classification.quantum_resistant]
    if pq:
        findings.append(finding("JWKS-003", keys=pq))
    elif known:
        findings.append(finding("JWKS-001", keys=len(known)))
    unknown = [
        k.label
        for k, v in pairs
        if k.algorithm_class is AlgorithmClass.UNKNOWN and not v.problem and not v.private
    ]
    if unknown:
        findings.append(finding("JWKS-004", keys=unknown))
    score = signature_score(known) if known else None
    if leaked or (malformed and not known):
        # A published private key signs for anyone; a set of nothing but malformed keys
        # verifies nothing.
        score = 0.0
    return findings, {"signatures_and_certificates": score}, result


def run_jwks_check(raw: bytes, source: str, now: datetime | None = None) -> CheckReport:
    started = datetime.now(UTC)
    details: dict[str, Any] = {}
    try:
        findings, subscores, result = combine(parse_jwks(raw))
        details = result.as_details()
    except JwksError as exc:
        findings, subscores = [finding("JWKS-005", detail=str(exc))], {}
    return assemble("jwks", source, started, findings, subscores, details, (now or started).date())
