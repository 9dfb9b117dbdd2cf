"""The one way a probe sends a request: through the egress policy (to the run's pinned address), at
the user's rate (the run's one pace, shared with the preflight), inside the probes' shared
deadline, with every answer kept (for the debug-page scan) and evidence written with the
credentials redacted."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from checks.api.evidence import CURL_BODY_BYTES, redacted
from checks.egress import EgressPolicy, EgressRefused
from checks.fetch import FetchError, RequestPace, RunEgress, exchange
from checks.fetch import requests_per_second as requests_per_second  # where the probes import it


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorsBook(_Strict):
    origins: tuple[str, ...]


class JwtBook(_Strict):
    max_token_bytes: int
    expiry_leeway_seconds: float = Field(ge=0)


class RateLimitBook(_Strict):
    burst: int
    within_seconds: float
    minimum_burst: int
    headers: tuple[str, ...]


class MassAssignmentBook(_Strict):
    undeclared: dict[str, Any]
    max_schema_depth: int


class MalformedBook(_Strict):
    json_body: str


class DebugMarker(_Strict):
    framework: str
    pattern: str


class IdentitiesBook(_Strict):
    """How much of the API an identity must open for the run to count as testing behind it."""

    min_accepted_share: float = Field(ge=0, le=1)


class ProbeBook(_Strict):
    """checks/data/api_probes.yaml: what the probes send and look for."""

    version: int
    total_seconds: float
    max_body_bytes: int
    cors: CorsBook
    jwt: JwtBook
    rate_limit: RateLimitBook
    mass_assignment: MassAssignmentBook
    malformed: MalformedBook
    debug_markers: tuple[DebugMarker, ...]
    identities: IdentitiesBook


@cache
def probe_book() -> ProbeBook:
    text = (resources.files("checks") / "data" / "api_probes.yaml").read_text("utf-8")
    return ProbeBook.model_validate(yaml.safe_load(text))


class OutOfTime(Exception):
    """The probes' deadline passed: what is left is skipped, said so in the result."""


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    headers: dict[str, str]  # as sent, credentials redacted
    status: int
    response_headers: dict[str, str]  # lower-cased names
    body: bytes  # at most the book's max_body_bytes
    sent: bytes | None = None  # the request's body (never a credential: the probes make it)

    def evidence(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method, "url": self.url, "headers": self.headers}
        body = None if self.sent is None else self.sent[:CURL_BODY_BYTES].decode("utf-8", "replace")
        if body is not None:
            request["body"] = body
        return {
            "request": request,
            "status": self.status,
            "curl": curl_line(self.method, self.url, self.headers, body),
        }

    def json(self) -> Any:
        """The body as JSON, or None when it is not (or was cut short, or nests too deep for
        the parser: a hostile body must end nothing but its own reading)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def curl_line(method: str, url: str, headers: dict[str, str], body: str | None = None) -> str:
    parts = ["curl", "-X", method, shlex.quote(url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None:
        parts += ["--data-binary", shlex.quote(body)]
    return " ".join(parts)


@dataclass
class ProbeClient:
    """Sends the probes' requests one at a time, paced to the user's rate, until the deadline."""

    policy: EgressPolicy
    request_timeout: float
    deadline: float  # time.monotonic() after which nothing more is sent
    per_second: float | None
    max_body_bytes: int
    answers: list[Answer] = field(default_factory=list)
    sent: int = 0
    errors: list[str] = field(default_factory=list)  # requests that got no answer, and why
    # The run's pace when the policy is the run's (shared with the preflight), else its own.
    pace: RequestPace = field(init=False)

    def __post_init__(self) -> None:
        shared = isinstance(self.policy, RunEgress)
        self.pace = self.policy.pace if shared else RequestPace(self.per_second)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None = None,
        note: str | None = None,
    ) -> Answer | None:
        """The answer, or None when the peer could not be reached or answered garbage.
        `note` says, in the evidence, what the redacted credential was."""
        if not self.pace.wait(self.deadline - 0.05):
            raise OutOfTime
        left = self.left()
        if left <= 0.05:
            raise OutOfTime
        self.sent += 1
        try:
            status, got, content = exchange(
                method,
                url,
                self.policy,
                headers,
                body,
                min(self.request_timeout, left),
                self.max_body_bytes,
            )
        except (FetchError, EgressRefused, ValueError) as exc:
            self.errors.append(f"{method} {url}: {exc}"[:300])
            return None
        finally:
            self.pace.done()
        answer = Answer(
            method=method,
            url=url,
            headers=redacted(headers, note),
            status=status,
            response_headers={k.lower(): v for k, v in got.items()},
            body=content,
            sent=body,
        )
        self.answers.append(answer)
        return answer
