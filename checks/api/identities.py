"""Which identities the live run proved, from the responses it recorded.

A token the API refuses turns every secured operation into a 401, so a fuzzing run with it finds
nothing and a gate built on it passes a faulty API. An identity is proven by a 2xx answer to a
secured operation sent with it, refused when every answer to such a request was 401 or 403, and
unproven otherwise (nothing secured answered 2xx, but not every answer was a refusal either).
Object-level authorisation is tested only between two proven identities.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus

REFUSED = {401, 403}
# The names the Web Fuzzing Commons auth file gives the tokens, in the order they were given.
IDENTITY_NAMES = ("primary", "secondary")


class BolaNotTested(StrEnum):
    """Why object-level authorisation between two identities was not tested."""

    ONE_IDENTITY = "only one identity was given; two are needed to test object-level authorisation"
    NO_IDENTITY = "no identity was given"
    NOT_PROVEN = "fewer than two identities were proven to work"


def secured_operations(document: dict[str, Any]) -> set[str]:
    """Labels ("GET /v1/notes") of the operations that need a credential."""
    view = OpenApiView(document)
    return {op.label for op in view.operations() if view.needs_credential(op)}


def _answers(ndjson: Path) -> Iterator[tuple[str, str | None, int]]:
    """(operation label, identity or None, status) for every response the run recorded."""
    if not ndjson.exists():
        return
    with ndjson.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith('{"ScenarioFinished"'):
                continue
            recorder = json.loads(line)["ScenarioFinished"].get("recorder") or {}
            label = str(recorder.get("label", ""))
            cases = recorder.get("cases") or {}
            for case_id, interaction in (recorder.get("interactions") or {}).items():
                status = ((interaction or {}).get("response") or {}).get("status_code")
                headers = ((interaction or {}).get("request") or {}).get("headers") or {}
                # Only a request that carried the credential says anything about it: the check
                # for ignored authentication sends the same case without one.
                carried = any(str(name).lower() == "authorization" for name in headers)
                if not isinstance(status, int) or not carried:
                    continue
                case = (cases.get(case_id) or {}).get("value") or {}
                identity = case.get("auth_identity")
                yield label, identity if isinstance(identity, str) else None, status


def identity_proofs(ndjson: Path, document: dict[str, Any], count: int) -> list[IdentityProof]:
    """One proof per identity given, from the answers to secured operations sent with it."""
    secured = secured_operations(document)
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for label, identity, status in _answers(ndjson):
        if identity is None and count == 1:
            identity = IDENTITY_NAMES[0]  # one identity is sent without a name
        if identity is not None and label in secured:
            statuses[identity][status] += 1
    proofs = []
    for name in IDENTITY_NAMES[:count]:
        seen = statuses.get(name, Counter())
        if any(200 <= status < 300 for status in seen):
            status_of = IdentityStatus.PROVEN
        elif seen and set(seen) <= REFUSED:
            status_of = IdentityStatus.REFUSED
        else:
            status_of = IdentityStatus.UNPROVEN
        proofs.append(
            IdentityProof(
                identity=name,
                status=status_of,
                responses={str(code): n for code, n in sorted(seen.items())},
            )
        )
    return proofs


def merged(before: list[IdentityProof] | None, during: list[IdentityProof]) -> list[IdentityProof]:
    """One proof per identity from the preflight and the fuzzing run: a 2xx in either proves
    it; otherwise a refusal in either refuses it."""
    if before is None:
        return during
    by_name = {proof.identity: proof for proof in during}
    proofs = []
    for first in before:
        second = by_name.get(first.identity)
        statuses = {first.status, second.status if second else first.status}
        if IdentityStatus.PROVEN in statuses:
            status = IdentityStatus.PROVEN
        elif IdentityStatus.REFUSED in statuses:
            status = IdentityStatus.REFUSED
        else:
            status = IdentityStatus.UNPROVEN
        responses = Counter(first.responses) + Counter(second.responses if second else {})
        proofs.append(
            IdentityProof(identity=first.identity, status=status, responses=dict(responses))
        )
    return proofs


def bola_not_tested(proofs: list[IdentityProof]) -> BolaNotTested | None:
    if not proofs:
        return BolaNotTested.NO_IDENTITY
    if len(proofs) == 1:
        return BolaNotTested.ONE_IDENTITY
    if sum(p.status is IdentityStatus.PROVEN for p in proofs) < 2:
        return BolaNotTested.NOT_PROVEN
    return None
