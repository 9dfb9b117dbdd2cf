"""JWT handling (API2, broken authentication), built from the identity's own token when it is a
JWT: does the API accept it with `alg: none`, without its signature, with the signature garbled,
expired, or for another audience? The header and payload are read without verifying anything.

The expired and other-audience tokens keep the original signature, which no longer matches
their payload, so only an API that also skips signature checks can accept them; an identity
token that had already expired, and that the API accepted, shows the same fault signed.
Controls first: the real token must get 2xx on the operation and no credential must not, or an
acceptance would prove nothing."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from checks.api.live_probes.client import Answer
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.findings import CheckFinding, finding

PROBE = "jwt"
# Each kind of forgery, and the fault its acceptance shows.
CODES = {
    "alg none, no signature": "API-PROBE-003",
    "signature removed": "API-PROBE-004",
    "signature garbled": "API-PROBE-004",
    "exp in the past": "API-PROBE-005",
    "another aud": "API-PROBE-006",
}


def _unpad(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _pad_free(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _encode(part: dict[str, Any]) -> str:
    return _pad_free(json.dumps(part, separators=(",", ":")).encode())


def parsed(token: str, max_bytes: int) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """(header, payload, signature segment) of a signed JWS in compact form, or None."""
    if len(token) > max_bytes or token.count(".") != 2:
        return None
    head, body, signature = token.split(".")
    try:
        header, payload = json.loads(_unpad(head)), json.loads(_unpad(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    if not isinstance(header.get("alg"), str) or header["alg"].lower() == "none":
        return None
    return header, payload, signature


def _garbled(signature: str) -> str:
    if not signature:
        return "AAAA"
    # Flip every character's low bit within the base64url alphabet: same length, other bytes.
    swap = str.maketrans(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "BADCFEHGJILKNMPORQTSVUXWZYbadcfehgjilknmporqtsvuxwzy1032547698_-",
    )
    return signature.translate(swap)


def variants(
    token: str, header: dict[str, Any], payload: dict[str, Any], signature: str, ctx: ProbeContext
) -> list[tuple[str, str]]:
    """(what was changed, the forged token) for each forgery to try; CODES names its fault."""
    head, body = token.split(".")[:2]
    now = int(time.time())
    expired = {**payload, "exp": now - ctx.book.jwt.expired_seconds_ago}
    if isinstance(payload.get("iat"), int | float):
        expired["iat"] = expired["exp"] - 60
    if isinstance(payload.get("nbf"), int | float):
        expired["nbf"] = expired["exp"] - 60
    unsigned = _encode({**header, "alg": "none"})
    rows = [
        ("alg none, no signature", f"{unsigned}.{body}."),
        ("signature removed", f"{head}.{body}."),
        ("signature garbled", f"{head}.{body}.{_garbled(signature)}"),
        ("exp in the past", f"{head}.{_encode(expired)}.{signature}"),
    ]
    if "aud" in payload:
        other = {**payload, "aud": ctx.book.jwt.other_audience}
        rows.append(("another aud", f"{head}.{_encode(other)}.{signature}"))
    return rows


def _ok(answer: Answer | None) -> bool:
    return answer is not None and 200 <= answer.status < 300


def probe(ctx: ProbeContext) -> Probed:
    if not ctx.token:
        return [], outcome(PROBE, skipped="no identity was proven")
    taken = parsed(ctx.token, ctx.book.jwt.max_token_bytes)
    if taken is None:
        return [], outcome(PROBE, skipped="the identity's token is not a signed JWT")
    path = ctx.secured_get()
    if path is None:
        return [], outcome(PROBE, skipped="no secured GET operation with nothing to fill in")
    header, payload, signature = taken
    operation, url = f"GET {path}", ctx.url(path)
    real = ctx.client.send("GET", url, ctx.auth(), note="identity token")
    anonymous = ctx.client.send("GET", url, {})
    if real is None or not _ok(real):
        why = "the identity's own token did not get 2xx on it"
        return [], outcome(PROBE, operation=operation, skipped=why)
    if anonymous is None or _ok(anonymous):
        why = "the operation answered 2xx without any credential, so no token test means anything"
        return [], outcome(PROBE, operation=operation, skipped=why)
    findings: list[CheckFinding] = []
    notes: list[str] = []
    exp = payload.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        evidence = {**real.evidence(), "variant": "the identity's own token, already expired"}
        findings.append(finding("API-PROBE-005", operation=operation, exp=exp, **evidence))
    raised: set[str] = set()
    for change, forged in variants(ctx.token, header, payload, signature, ctx):
        if CODES[change] in raised:
            continue  # one acceptance of a kind is enough evidence
        answer = ctx.client.send("GET", url, ctx.auth(forged), note=f"identity token, {change}")
        if answer is None:
            notes.append(f"{change}: no answer")
        elif _ok(answer):
            raised.add(CODES[change])
            evidence = {**answer.evidence(), "variant": change}
            findings.append(finding(CODES[change], operation=operation, **evidence))
        else:
            notes.append(f"{change}: {answer.status}")
    if "aud" not in payload:
        notes.append("the token has no aud claim: another audience was not tried")
    return findings, outcome(PROBE, ran=True, operation=operation, notes=tuple(notes))
