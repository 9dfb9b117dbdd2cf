"""JWT handling (API2, broken authentication), built from the identity's own token when it is a
JWT: does the API accept it with `alg: none`, without its signature, with the signature garbled,
or with its claims changed under the original signature? Each of these shows the signature is
not verified. The header and payload are read without verifying anything.

Whether the API checks expiry (exp) or audience (aud) can only be judged with a token its issuer
signed: a forged claim under the old signature is refused by any API that verifies signatures,
and accepted by any that does not, whatever it does with exp or aud. So expiry is tested only
with an expired token the user gives (`--expired-token`), or the identity's own token when it
had already expired and was accepted; audience only with a token the same issuer signed for
another API (`--other-audience-token`). What was not tested is said in the probe's notes
("not tested: ..."), never counted as a pass.
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
    "claims changed, signature kept": "API-PROBE-011",
}
# A claim no issuer sets: adding it changes the payload and nothing the API may act on.
PROBE_CLAIM = "assure-probe"
NOT_TESTED = "not tested: expiry: need a token the API signed that has expired (--expired-token)"
AUDIENCE_NOT_TESTED = (
    "not tested: audience: need a token the API's issuer signed for another API "
    "(--other-audience-token)"
)


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
    """The signature with one of its bytes flipped. Changing a base64url character is not
    enough: the last character of a segment carries unused low bits, so some changes decode to
    the very same bytes and the "garbled" token is the real one."""
    try:
        raw = _unpad(signature)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        return _pad_free(b"assure-garbled-signature")
    middle = len(raw) // 2
    return _pad_free(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1 :])


def variants(
    token: str, header: dict[str, Any], payload: dict[str, Any], signature: str
) -> list[tuple[str, str]]:
    """(what was changed, the forged token) for each forgery to try; CODES names its fault."""
    head, body = token.split(".")[:2]
    unsigned = _encode({**header, "alg": "none"})
    changed = _encode({**payload, PROBE_CLAIM: 1})
    return [
        ("alg none, no signature", f"{unsigned}.{body}."),
        ("signature removed", f"{head}.{body}."),
        ("signature garbled", f"{head}.{body}.{_garbled(signature)}"),
        ("claims changed, signature kept", f"{head}.{changed}.{signature}"),
    ]


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
    if _expired(exp, ctx):
        evidence = {**real.evidence(), "variant": "the identity's own token, already expired"}
        findings.append(finding("API-PROBE-005", operation=operation, exp=exp, **evidence))
    raised: set[str] = set()
    for change, forged in variants(ctx.token, header, payload, signature):
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
    found, said = _expiry(ctx, url, operation)
    other, told = _audience(ctx, url, operation, payload)
    notes = [*notes, *said, *told]
    return findings + found + other, outcome(PROBE, ran=True, operation=operation, notes=notes)


def _expired(exp: Any, ctx: ProbeContext) -> bool:
    """Expired beyond the clock skew an API may rightly allow: a token a few seconds past its
    exp is still accepted by common defaults (checks/data/api_probes.yaml, jwt)."""
    leeway = ctx.book.jwt.expiry_leeway_seconds
    return isinstance(exp, int | float) and exp < time.time() - leeway


def _expiry(ctx: ProbeContext, url: str, operation: str) -> tuple[list[CheckFinding], list[str]]:
    """The expired token the user gave, sent where the live one got 2xx: accepted, the API
    does not check expiry. Without one (or with one that has not expired), expiry is said to
    be untested."""
    given = ctx.expired_token
    if not given:
        return [], [NOT_TESTED]
    claims = parsed(given, ctx.book.jwt.max_token_bytes)
    exp = claims[1].get("exp") if claims else None
    if claims and not isinstance(exp, int | float):
        return [], ["not tested: expiry: the expired token given has no exp claim"]
    if isinstance(exp, int | float) and exp >= time.time():
        why = f"not tested: expiry: the expired token given has not expired (exp {exp:g})"
        return [], [why]
    if isinstance(exp, int | float) and not _expired(exp, ctx):
        leeway = ctx.book.jwt.expiry_leeway_seconds
        why = (
            f"not tested: expiry: the expired token given expired less than {leeway:g}s ago,"
            f" within the clock skew an API may allow (exp {exp:g})"
        )
        return [], [why]
    answer = ctx.client.send("GET", url, ctx.auth(given), note="expired token")
    if answer is None:
        return [], ["not tested: expiry: the expired token got no answer"]
    if not _ok(answer):
        return [], [f"expired token given: {answer.status}"]
    evidence = {**answer.evidence(), "variant": "the expired token given, signed by the API"}
    if isinstance(exp, int | float):
        evidence["exp"] = exp
    return [finding("API-PROBE-005", operation=operation, **evidence)], []


def _audiences(payload: dict[str, Any]) -> set[str]:
    aud = payload.get("aud")
    if isinstance(aud, str):
        return {aud}
    return {a for a in aud if isinstance(a, str)} if isinstance(aud, list) else set()


def _audience(
    ctx: ProbeContext, url: str, operation: str, own: dict[str, Any]
) -> tuple[list[CheckFinding], list[str]]:
    """The token the user gave for another API, sent where the identity's got 2xx: accepted,
    the API does not check that a token was meant for it, so a token for any service of the
    same issuer opens it. It proves that only if it names other audiences than the identity's
    own token and has not expired (an expired one would be refused for that alone)."""
    given = ctx.other_audience_token
    if not given:
        return [], [AUDIENCE_NOT_TESTED]
    claims = parsed(given, ctx.book.jwt.max_token_bytes)
    if claims is None:
        return [], ["not tested: audience: the other-audience token given is not a signed JWT"]
    theirs, ours = _audiences(claims[1]), _audiences(own)
    if not theirs:
        return [], ["not tested: audience: the other-audience token given names no audience"]
    if theirs & ours:
        shared = ", ".join(sorted(theirs & ours))
        why = f"not tested: audience: the other-audience token is also for this API's ({shared})"
        return [], [why]
    if _expired(claims[1].get("exp"), ctx):
        return [], ["not tested: audience: the other-audience token given has expired"]
    answer = ctx.client.send("GET", url, ctx.auth(given), note="other-audience token")
    if answer is None:
        return [], ["not tested: audience: the other-audience token got no answer"]
    if not _ok(answer):
        return [], [f"other-audience token given: {answer.status}"]
    evidence = {
        **answer.evidence(),
        "variant": "a token the issuer signed for another API",
        "token_audiences": sorted(theirs),
        "identity_audiences": sorted(ours),
    }
    return [finding("API-PROBE-006", operation=operation, **evidence)], []
