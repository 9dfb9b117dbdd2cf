"""Before fuzzing: does each identity given actually work?

schemathesis sends the second identity only when it replays another identity's object, so the
fuzzing run alone rarely shows whether a token works. Each identity is tried on a few secured
GET operations that need no parameters (a "who am I" or a list): a 2xx proves it, 401 or 403 on
every one refuses it. Bounded: a handful of requests per identity, each with the run's request
timeout, all through the egress policy.
"""

from __future__ import annotations

import time
from typing import Any

from checks.api.identities import IDENTITY_NAMES, REFUSED
from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from checks.fetch import FetchError, status_of

MAX_OPERATIONS = 3
# For every identity together; a quarter of a short budget at most, so a hanging target cannot
# spend the run's time here.
ALL_IDENTITIES_SECONDS = 20.0


def probe_operations(document: dict[str, Any]) -> list[str]:
    """Paths of secured GET operations with nothing to fill in (no path template, no required
    parameter, no body), shortest first."""
    view = OpenApiView(document)
    paths = [
        op.path
        for op in view.operations()
        if op.method == "get"
        and "{" not in op.path
        and view.needs_credential(op)
        and not any(p.get("required") for p in op.parameters)
        and "requestBody" not in op.node
    ]
    return sorted(paths, key=len)[:MAX_OPERATIONS]


def preflight(
    document: dict[str, Any],
    base_url: str,
    tokens: list[str],
    policy: EgressPolicy,
    timeout: float,
    budget_seconds: float,
) -> list[IdentityProof] | None:
    """Each identity's proof, or None when the description has no operation to try it on."""
    paths = probe_operations(document)
    if not paths or not tokens:
        return None
    deadline = time.monotonic() + min(ALL_IDENTITIES_SECONDS, budget_seconds / 4)
    proofs = []
    for name, token in zip(IDENTITY_NAMES, tokens, strict=False):
        seen: dict[str, int] = {}
        for path in paths:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            url = base_url.rstrip("/") + path
            try:
                status = status_of(
                    url,
                    policy,
                    {"Authorization": f"Bearer {token}"},
                    min(timeout, left),
                    deadline_seconds=left,
                )
            except FetchError:
                continue
            seen[str(status)] = seen.get(str(status), 0) + 1
            if 200 <= status < 300:
                break
        codes = {int(code) for code in seen}
        if any(200 <= code < 300 for code in codes):
            status_of_identity = IdentityStatus.PROVEN
        elif codes and codes <= REFUSED:
            status_of_identity = IdentityStatus.REFUSED
        else:
            status_of_identity = IdentityStatus.UNPROVEN
        proofs.append(IdentityProof(identity=name, status=status_of_identity, responses=seen))
    return proofs
