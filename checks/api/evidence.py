"""What a live failure is shown with: request/response samples read from schemathesis's NDJSON
event stream, a curl line for each, and credentials redacted.

The JSON summary names each failure's code and operations but carries no request; the NDJSON
stream carries every failing check with the interaction that triggered it. One sample is kept
per (code, operation), so every operation a finding names can be reproduced, and a finding
keeps at most MAX_SAMPLES of them.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
