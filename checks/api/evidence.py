"""What a live failure is shown with: request/response samples read from schemathesis's NDJSON
event stream, a curl line for each, and credentials redacted.

The JSON summary names each failure's code and operations but carries no request; the NDJSON
stream carries every failing check with the interaction that triggered it. One sample is kept
per (code, operation), so every operation a finding names can be reproduced, and a finding
keeps at most MAX_SAMPLES of them.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from checks.findings import CheckFinding
from checks.report import CheckReport

MAX_SAMPLES = 10  # per finding; the rest are counted, not kept
MESSAGE_CHARS = 500
# Of an answer's body, what a finding keeps (schemathesis's samples, the probes' debug pages).
EXCERPT_CHARS = 300
# Of a body the check sent, what its curl line carries: the reader needs it whole to replay it.
CURL_BODY_BYTES = 8 * 1024
# What replaces a credential, in a header (in place of schemathesis' own "[Filtered]") or found
# by value in any text; "[redacted: what it was]" when the sender says.
SECRET_REDACTED = "[redacted]"  # noqa: S105
# Lower case; schemathesis already filters Authorization, the others are filtered here.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
    }
)
HeaderValue = TypeVar("HeaderValue", str, list[str])
# How schemathesis names failures in the stateful phase rather than by operation.
STATEFUL_LABEL = "Stateful tests"


def redacted(
    headers: Mapping[str, HeaderValue] | None, note: str | None = None
) -> dict[str, HeaderValue]:
    """The headers with the value of every one known to carry a credential replaced; `note`
    says, in the marker, what the credential was."""
    marker = f"[redacted: {note}]" if note else SECRET_REDACTED
    shown: dict[str, Any] = {}
    for name, value in (headers or {}).items():
        secret = name.lower() in SECRET_HEADERS
        if isinstance(value, list):
            shown[name] = [marker] * len(value) if secret else list(value)
        else:
            shown[name] = marker if secret else value
    return shown


def _decoded(body: Any) -> bytes | None:
    if isinstance(body, dict) and isinstance(body.get("$base64"), str):
        try:
            return base64.b64decode(body["$base64"])
        except ValueError:
            return None
    return None


def curl(request: dict[str, Any]) -> str:
    parts = ["curl", "-X", str(request.get("method", "GET"))]
    for name, values in redacted(request.get("headers")).items():
        for value in values:
            parts += ["-H", f"{name}: {value}"]
    body = _decoded(request.get("body"))
    if body is not None:
        text = body[:CURL_BODY_BYTES].decode("utf-8", "replace")
        parts += ["-d", text]
    parts.append(str(request.get("uri", "")))
    line = " ".join(shlex.quote(p) for p in parts)
    if body is not None and len(body) > CURL_BODY_BYTES:
        line += f"  # body cut at {CURL_BODY_BYTES} of {len(body)} bytes"
    return line


@dataclass(frozen=True)
class Sample:
    """One failing request and the answer to it."""

    operation: str
    curl: str
    message: str
    status: int | None
    request: dict[str, Any]  # as recorded, headers redacted (confirm.py reads its body)
    response_excerpt: str = ""

    def as_evidence(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "curl": self.curl,
            "message": self.message,
            "response_status": self.status,
            "response_excerpt": self.response_excerpt,
        }


def _message(failure: dict[str, Any], request: dict[str, Any], response: dict[str, Any]) -> str:
    """schemathesis writes no message for some failures (a server error's is empty: its title
    says it); the answer itself then says what went wrong."""
    text = str(failure.get("message") or "").strip()
    if text:
        return text[:MESSAGE_CHARS]
    status = response.get("status_code")
    said = (_decoded(response.get("content")) or b"")[:EXCERPT_CHARS].decode("utf-8", "replace")
    where = f"{request.get('method', '?')} {request.get('uri', '?')}"
    answer = f"HTTP {status}" if status is not None else "no response"
    text = f"{failure.get('title', 'failure')}: {where} answered {answer}"
    return (text + (f": {said}" if said else ""))[:MESSAGE_CHARS]


@dataclass
class FailureSamples:
    """(code, operation) -> its first sample; what the summary's failures are shown with."""

    by_key: dict[tuple[str, str], Sample] = field(default_factory=dict)
    operations_reached: set[str] = field(default_factory=set)

    def for_failure(self, code: str, operations: list[str]) -> tuple[list[Sample], int]:
        """One sample per operation named (the first MAX_SAMPLES), and how many were left out."""
        found = []
        for operation in operations:
            sample = self.by_key.get((code, operation))
            if sample is None and operation == STATEFUL_LABEL:
                sample = self.by_key.get((code, f"{STATEFUL_LABEL}:any"))
            if sample is not None:
                found.append(sample)
        return found[:MAX_SAMPLES], max(0, len(found) - MAX_SAMPLES)

    def add(self, event: dict[str, Any]) -> None:
        recorder = event.get("recorder") or {}
        label = str(recorder.get("label") or "")
        if event.get("status") != "skip" and label and label != STATEFUL_LABEL:
            self.operations_reached.add(label)
        interactions = recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                failure = (check.get("failure_info") or {}).get("failure") or {}
                code, interaction = failure.get("code"), interactions.get(case_id)
                if not code or not interaction:
                    continue
                operation = str(failure.get("operation") or label)
                keys = [(code, operation)]
                if label == STATEFUL_LABEL:
                    keys.append((code, f"{STATEFUL_LABEL}:any"))
                for key in keys:
                    if key not in self.by_key:
                        self.by_key[key] = _sample(operation, failure, interaction)


def _sample(operation: str, failure: dict[str, Any], interaction: dict[str, Any]) -> Sample:
    request = dict(interaction.get("request") or {})
    request["headers"] = redacted(request.get("headers"))
    response = interaction.get("response") or {}
    excerpt = (_decoded(response.get("content")) or b"")[:EXCERPT_CHARS]
    return Sample(
        operation=operation,
        curl=curl(request),
        message=_message(failure, request, response),
        status=response.get("status_code"),
        request=request,
        response_excerpt=excerpt.decode("utf-8", "replace"),
    )


# Read from lines without a failure, which are not parsed: a time-bounded run writes ~100 MB.
_STATUS = re.compile(r'^\{"ScenarioFinished":\{[^{]*?"status":"(\w+)"')
_LABEL = re.compile(r'"recorder":\{"label":"((?:[^"\\]|\\.)*)"')


def read_samples(ndjson: Path) -> FailureSamples:
    samples = FailureSamples()
    if not ndjson.exists():
        return samples
    with ndjson.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith('{"ScenarioFinished"'):
                continue
            if '"failure"' in line:
                event = json.loads(line).get("ScenarioFinished")
                if event:
                    samples.add(event)
                continue
            status, label = _STATUS.search(line), _LABEL.search(line)
            if status and label and status.group(1) != "skip":
                name = json.loads(f'"{label.group(1)}"')
                if name != STATEFUL_LABEL:
                    samples.operations_reached.add(name)
    return samples


# A secret shorter than this is not searched for: every "abc" in the evidence would go.
MIN_SECRET = 4
# A piece of a secret this long, cut off at either end of a kept excerpt, is redacted too.
MIN_FRAGMENT = 6
# A base64 run shorter than this, taken from the middle of an encoding, matches too much.
MIN_BASE64 = 8
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
# What an echo escapes a secret with, each run decoded on its own before the search: a JSON
# escape (PHP writes `\/`; ensure_ascii and Go write `\uXXXX`, a pair for a character past
# U+FFFF), an HTML entity (named, decimal, hex), percent-encoding in either case, and a line
# break (a wrapped token, or a JSON-escaped one) with the indentation after it, which decodes to
# nothing. One linear pass, so a body of megabytes costs one scan per secret form.
_ESCAPED = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[0-9a-fA-F]{4}"
    r"|(?:\\r)?\\n[ \t]*|\r?\n[ \t]*"
    r'|\\["\\/]'
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|(?:%[0-9a-fA-F]{2})+"
)


def _decoded_run(run: str) -> str:
    """What one escaped run stands for; the run itself when it decodes to nothing sensible."""
    if run.startswith("\\u"):
        raw = run.encode("ascii").decode("unicode_escape")
        return raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if run.startswith(("\\n", "\\r", "\n", "\r")):
        return ""
    if run.startswith("\\"):
        return run[1:]
    if run.startswith("&"):
        return html.unescape(run)
    return unquote(run, errors="strict") if _utf8(run) else run


def _utf8(run: str) -> bool:
    try:
        bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _Unescaped:
    """A text with every escaped run decoded, and where each decoded piece came from: a
    secret found in `text` is redacted over the original characters it was spelled with."""

    text: str
    starts: tuple[int, ...]  # where each piece begins in `text`
    spans: tuple[tuple[int, int, bool], ...]  # (start, end, plain) of each piece in the original

    @classmethod
    def of(cls, original: str) -> _Unescaped:
        pieces: list[str] = []
        starts: list[int] = []
        spans: list[tuple[int, int, bool]] = []
        at = size = 0

        def add(piece: str, start: int, end: int, plain: bool) -> None:
            nonlocal size
            if piece:
                pieces.append(piece)
                starts.append(size)
                spans.append((start, end, plain))
                size += len(piece)

        for match in _ESCAPED.finditer(original):
            add(original[at : match.start()], at, match.start(), True)
            decoded = _decoded_run(match.group())
            add(decoded, match.start(), match.end(), decoded == match.group())
            at = match.end()
        add(original[at:], at, len(original), True)
        return cls("".join(pieces), tuple(starts), tuple(spans))

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original characters that `text[start:end]` was decoded from."""
        first, last = bisect_right(self.starts, start) - 1, bisect_right(self.starts, end - 1) - 1
        begin, _, plain = self.spans[first]
        at = begin + start - self.starts[first] if plain else begin
        begin, stop, plain = self.spans[last]
        to = begin + end - self.starts[last] if plain else stop
        return at, to


def _base64_runs(secret: str) -> set[str]:
    """What any base64 text (standard or URL-safe, padded or not) holding `secret` at any byte
    offset must contain: the secret encoded on its own, then, for each of the three alignments,
    the characters that depend on the secret's bytes alone. So `token:`, `user:password` and
    `Bearer token` encoded whole are found as well."""
    data = secret.encode()
    runs = set()
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        whole = base64.b64encode(b"\0" * offset + data).decode("ascii")
        kept = whole[skip : 4 * ((offset + len(data)) // 3)]
        runs |= {kept, whole.rstrip("=")} if offset == 0 else {kept}
    runs |= {run.translate(_URLSAFE) for run in runs}
    return {run for run in runs if len(run) >= MIN_BASE64}


_URLSAFE = str.maketrans("+/", "-_")


def _forms(secret: str) -> set[str]:
    """What a secret is searched for as, in the text and in its decoded form (_Unescaped): as
    given, its base64 runs, and a JWT's payload and signature on their own (the payload names
    the user; the signature, with the claims anyone can read, is the token). Escaped forms
    (JSON, HTML, percent) need no entry: the search decodes them."""
    forms = {secret} | _base64_runs(secret)
    parts = secret.split(".")
    if len(parts) == 3:
        forms |= {part for part in parts[1:] if len(part) >= 8}
    return {form for form in forms if len(form) >= MIN_SECRET}


def _userinfo_forms(base_url: str) -> set[str]:
    """A base URL's `user:password@`: the pair and the password, as written and percent-decoded
    (the pair as an HTTP Basic credential is among its base64 runs)."""
    userinfo = urlsplit(base_url.strip()).netloc.rpartition("@")[0]
    if not userinfo:
        return set()
    user, _, password = userinfo.partition(":")
    forms = {userinfo, f"{unquote(user)}:{unquote(password)}", password, unquote(password)}
    return {form for secret in forms if len(secret) >= MIN_SECRET for form in _forms(secret)}


@dataclass(frozen=True)
class KnownSecrets:
    """Every credential value the user gave the run. Headers known to carry credentials are
    redacted by name; these are redacted by value wherever they show up in stored evidence (an
    API that echoes its request into its body or another header would otherwise hand them
    back), however the echo escaped or encoded them."""

    values: tuple[str, ...] = ()  # longest first, so a token goes before its own signature

    @classmethod
    def of(
        cls,
        tokens: list[str] | tuple[str, ...],
        base_url: str | None = None,
    ) -> KnownSecrets:
        """Every token given (the identities' and those the JWT probe sends) and the base
        URL's user:password, in every form an echo may give them back."""
        found: set[str] = set()
        for secret in tokens:
            if len(secret) >= MIN_SECRET:
                found |= _forms(secret)
        if base_url:
            found |= _userinfo_forms(base_url)
        return cls(tuple(sorted(found, key=lambda s: (-len(s), s))))

    def text(self, value: str) -> str:
        value = _USERINFO.sub(rf"\1{SECRET_REDACTED}@", value)
        if self.values:
            value = self._redacted(value)
        for secret in self.values:
            value = _cut_edges(value, secret)
        return value

    def _redacted(self, value: str) -> str:
        """`value` with every span that spells a secret, as written or escaped, in any case
        (an echo that folds a token's case leaves little of it to guess), replaced."""
        spans = _found(value, self.values)
        unescaped = _Unescaped.of(value)
        if unescaped.text != value:
            spans += [unescaped.original(*span) for span in _found(unescaped.text, self.values)]
        if not spans:
            return value
        kept, at = [], 0
        for start, end in _merged(spans):
            kept += [value[at:start], SECRET_REDACTED]
            at = end
        return "".join(kept) + value[at:]

    def scrub(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, tuples, strings) with every secret redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return value


def _found(text: str, secrets: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each secret is in `text`, case-folded when folding keeps every position."""
    folded = text.lower()
    fold = len(folded) == len(text)
    spans = []
    for secret in secrets:
        needle = secret.lower() if fold else secret
        haystack = folded if fold else text
        at = haystack.find(needle)
        while at != -1:
            spans.append((at, at + len(needle)))
            at = haystack.find(needle, at + len(needle))
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _cut_edges(value: str, secret: str) -> str:
    """An excerpt cut mid-secret keeps a piece of it at its end (or, cut before, at its
    start): redact a piece of at least MIN_FRAGMENT characters there."""
    if len(secret) <= MIN_FRAGMENT:
        return value
    head, tail = secret[:MIN_FRAGMENT], secret[-MIN_FRAGMENT:]
    window = len(secret) - 1
    start = max(0, len(value) - window)
    at = value.find(head, start)
    while at != -1:
        if secret.startswith(value[at:]):
            value = value[:at] + SECRET_REDACTED
            break
        at = value.find(head, at + 1)
    end = min(len(value), window)
    at = value.rfind(tail, 0, end)
    while at != -1:
        if secret.endswith(value[: at + MIN_FRAGMENT]):
            value = SECRET_REDACTED + value[at + MIN_FRAGMENT :]
            break
        at = value.rfind(tail, 0, at + MIN_FRAGMENT - 1)
    return value


def scrubbed_findings(findings: list[CheckFinding], secrets: KnownSecrets) -> list[CheckFinding]:
    return [f.model_copy(update={"evidence": secrets.scrub(f.evidence)}) for f in findings]


def scrubbed_report(report: CheckReport, secrets: KnownSecrets) -> CheckReport:
    """The report with no known secret in its findings, its details (curl lines of unconfirmed
    failures, the schemathesis command's --url) or its target."""
    return report.model_copy(
        update={
            "target": secrets.text(report.target),
            "findings": scrubbed_findings(report.findings, secrets),
            "details": secrets.scrub(report.details),
        }
    )
