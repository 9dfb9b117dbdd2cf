"""Before fuzzing: does each identity given actually work?

schemathesis sends the second identity only when it replays another identity's object, so the
fuzzing run alone rarely shows whether a token works. Each identity is tried once on each of a
few secured GET operations that need no parameters (a "who am I" or a list): the answers are
judged with the fuzzing run's (identities.judged), operation by operation, so a token one
operation accepts and the others refuse shows as such. Bounded: a handful of requests per
identity, each with the run's request timeout, at the run's pace, to the address the egress
policy vetted for the run.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from checks.api.credentials import IDENTITY_NAMES, bearer
from checks.api.identities import Answers
from checks.api.model import OpenApiView
from checks.api.phases import PREFLIGHT_SECONDS, around_run
from checks.egress import EgressPolicy, EgressRefused
from checks.fetch import run_pace, status_of

MAX_OPERATIONS = 3


def probe_operations(document: dict[str, Any]) -> list[str]:
    """Paths of the first few secured GET operations with nothing to fill in."""
    return [op.path for op in OpenApiView(document).plain_gets()][:MAX_OPERATIONS]


def preflight(
    document: dict[str, Any],
    base_url: str,
    tokens: list[str],
    policy: EgressPolicy,
    timeout: float,
    budget_seconds: float,
) -> dict[str, Answers] | None:
    """Each identity's answers (secured operation -> statuses), or None when the description
    has no operation to try it on. With the run's policy (fetch.for_run) the requests keep to
    its pace and go to its pinned address."""
    paths = probe_operations(document)
    if not paths or not tokens:
        return None
    deadline = time.monotonic() + around_run(PREFLIGHT_SECONDS, budget_seconds)
    pace = run_pace(policy)
    answers: dict[str, Answers] = {}
    for name, token in zip(IDENTITY_NAMES, tokens, strict=False):
        seen: Answers = {}
        for path in paths:
            if not pace.wait(deadline):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                status = status_of(
                    base_url.rstrip("/") + path,
                    policy,
                    bearer(token),
                    min(timeout, left),
                    deadline_seconds=left,
                )
            except (ValueError, EgressRefused):  # FetchError, or a token no header can carry
                continue
            finally:
                pace.done()
            seen.setdefault(f"GET {path}", Counter())[status] += 1
        answers[name] = seen
    return answers
