"""What the live run's answers show: which operations were really tested, and which identities
were proven, operation by operation.

schemathesis counts an operation as tested once it sent it a request, whatever came back, so an
API answering 503 to everything, 404 to everything without a token, or 400 to everything, was
"tested" in full. Here an operation counts as tested only when it showed it ran (`tested`): a
2xx or 3xx, an unknown id's answer on a templated path, or a 4xx to data schemathesis made
invalid on purpose that valid data did not get. A run with no 2xx at all tested nothing.

A token the API refuses turns every secured operation into a 401 (or a 400 "invalid token"), so
a fuzzing run with it finds nothing and a gate built on it passes a faulty API: each identity is
judged from the answers to the valid requests sent with it to secured operations (`judged`), by
the preflight and the fuzzing run alike. Per operation: accepted on a 2xx; refused on a 401
anywhere, a 403 or 404 on a path with no template, or a 4xx to every valid request it sent; and
neither on a templated path's 403 or 404 alone, since schemathesis makes ids up and a correct
API refuses an id the caller does not own. The accepted share (`below_share`) is taken over the
operations that judged it either way.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from checks.api.credentials import IDENTITY_NAMES
from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus

REFUSED = {401, 403}
# Not the operation's own answer whatever the path: the limiter's (429), or a method the server
# does not serve there (405).
NOT_ANSWERS = {405, 429}
# On a templated path, what a correct API answers to an id that is not there or not the caller's:
# schemathesis makes ids up, so these say the operation ran, and nothing about the credential.
UNKNOWN_ID = {403, 404}

# operation label ("GET /v1/notes") -> status -> how many answers
Answers = dict[str, Counter[int]]


NOT_SENT = (
    "no request to a secured operation was sent with it (the description declares none, or the "
    "run never reached one), so whether the API accepts it was not tested"
)


class BolaNotTested(StrEnum):
    """Why object-level authorisation between two identities was not tested."""

    ONE_IDENTITY = "only one identity was given; two are needed to test object-level authorisation"
    NO_IDENTITY = "no identity was given"
    NOT_PROVEN = "fewer than two identities were proven to work"


def secured_operations(document: dict[str, Any]) -> set[str]:
    """Labels ("GET /v1/notes") of the operations that need a credential."""
    view = OpenApiView(document)
    return {op.label for op in view.operations() if view.needs_credential(op)}


def templated(label: str) -> bool:
    return "{" in label


def is_answer(label: str, status: int) -> bool:
    """Whether an answer came from the operation itself. A server error (5xx) did not run it, nor
    did a 429 or a 405. A 404 on a path with no template means the route is not there (a wrong
    base URL, or a gateway hiding everything from an unauthenticated caller)."""
    if status >= 500 or status in NOT_ANSWERS:
        return False
    return status != 404 or templated(label)


def _succeeded(statuses: Iterable[int]) -> bool:
    return any(200 <= status < 300 for status in statuses)


def tested(answers: Answers, negative: Answers) -> set[str]:
    """The operations that showed they ran: a 2xx or 3xx; on a templated path, a 403 or 404 (an
    id not there, or not the caller's); or a 4xx to data made invalid on purpose (`negative`,
    a subset of `answers`) that valid data never got, so the operation told them apart. A 401 or
    403 is the guard's answer, not the operation's, and a 4xx to everything (a server answering
    400 to whatever it is sent) tells nothing apart. With no 2xx anywhere in the run, nothing of
    the API was shown to run, and no operation counts."""
    if not any(_succeeded(statuses) for statuses in answers.values()):
        return set()
    shown = set()
    for label, statuses in answers.items():
        invalid = negative.get(label, Counter())
        valid = set(statuses - invalid)
        rejected = {
            status
            for status in invalid
            if 400 <= status < 500 and status not in REFUSED and is_answer(label, status)
        }
        if (
            any(200 <= status < 400 for status in statuses)
            or (templated(label) and statuses.keys() & UNKNOWN_ID)
            or rejected - valid
        ):
            shown.add(label)
    return shown


def _refused(label: str, statuses: Counter[int]) -> bool:
    """Whether an operation that never accepted an identity's valid requests refused it: a 401
    anywhere, a 403 or 404 on a path with no template, or a 4xx to every one (an API may answer
    a token it did not issue with 400 "invalid token"). On a templated path a 403 or 404 is an
    unknown or foreign id's answer, and 5xx, 405 and 429 are not the operation's."""
    if 401 in statuses:
        return True
    if not templated(label) and statuses.keys() & UNKNOWN_ID:
        return True
    own = [status for status in statuses if is_answer(label, status)]
    return bool(own) and all(
        400 <= status < 500 and not (templated(label) and status in UNKNOWN_ID) for status in own
    )


def judged(identity: str, answers: Answers) -> IdentityProof:
    """One identity's proof from the answers to valid requests sent with it to secured
    operations: proven by a 2xx, refused when every answer was 401 or 403, unproven otherwise
    (and `untested` says why when none was sent). Per operation, accepted when it answered 2xx
    at least once, refused as `_refused` says; the share is the accepted part of the operations
    that judged the credential either way."""
    seen: Counter[int] = sum(answers.values(), Counter())
    if _succeeded(seen):
        status_of = IdentityStatus.PROVEN
    elif seen and set(seen) <= REFUSED:
        status_of = IdentityStatus.REFUSED
    else:
        status_of = IdentityStatus.UNPROVEN
    accepted = refused = 0
    for label, statuses in answers.items():
        if _succeeded(statuses):
            accepted += 1
        elif _refused(label, statuses):
            refused += 1
    judging = accepted + refused
    return IdentityProof(
        identity=identity,
        status=status_of,
        responses={str(code): n for code, n in sorted(seen.items())},
        secured_tried=sum(1 for statuses in answers.values() if statuses),
        secured_accepted=accepted,
        secured_refused=refused,
        accepted_share=round(accepted / judging, 3) if judging else None,
        untested=None if seen else NOT_SENT,
    )


@dataclass
class RunAnswers:
    """What the fuzzing run's requests got back: per operation, and per identity per secured
    operation."""

    operations: Answers = field(default_factory=dict)
    # The part of `operations` that answered cases schemathesis made invalid on purpose.
    negative: Answers = field(default_factory=dict)
    identities: dict[str, Answers] = field(default_factory=dict)


def _interactions(ndjson: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(case, interaction, the recorder's label) for every request the run recorded."""
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
                if isinstance(interaction, dict):
                    yield cases.get(case_id) or {}, interaction, label


def _identity(case: dict[str, Any], value: dict[str, Any], count: int) -> str | None:
    """The identity a request carried, or None when it carried none of those given."""
    named = value.get("auth_identity")
    if isinstance(named, str):
        return named
    if count != 1:
        return None
    # One identity is sent without a name. A check's re-send of another case (parent, no
    # transition) may carry a blanked or garbled credential instead, as may a case whose
    # headers were generated to be invalid: neither is the identity's.
    derived = case.get("parent_id") and not case.get("transition")
    header_mode = (((value.get("meta") or {}).get("components") or {}).get("header") or {}).get(
        "mode"
    )
    return None if derived or header_mode == "negative" else IDENTITY_NAMES[0]


def read_answers(ndjson: Path, document: dict[str, Any], count: int) -> RunAnswers:
    """Every answer of the run to an operation the description declares (a request with a
    method it does not declare, from the unsupported-method check, is not that operation's)."""
    view = OpenApiView(document)
    declared = {op.label for op in view.operations()}
    secured = {op.label for op in view.operations() if view.needs_credential(op)}
    run = RunAnswers()
    by_identity: dict[str, Answers] = defaultdict(dict)
    for case, interaction, recorded_as in _interactions(ndjson):
        status = (interaction.get("response") or {}).get("status_code")
        value = case.get("value") or {}
        method, path = value.get("method"), value.get("path")
        label = f"{method} {path}" if method and path else recorded_as
        if not isinstance(status, int) or label not in declared:
            continue
        run.operations.setdefault(label, Counter())[status] += 1
        invalid = ((value.get("meta") or {}).get("generation") or {}).get("mode") == "negative"
        if invalid:
            run.negative.setdefault(label, Counter())[status] += 1
        headers = (interaction.get("request") or {}).get("headers") or {}
        # Only a request that carried the credential says anything about it: the check for
        # ignored authentication sends the same case without one.
        carried = any(str(name).lower() == "authorization" for name in headers)
        identity = _identity(case, value, count) if carried else None
        if identity is None or label not in secured:
            continue
        derived = case.get("parent_id") and not case.get("transition")
        if (derived or invalid) and not 200 <= status < 300:
            # A replay of another identity's object (the object-level authorisation check) is
            # meant to be refused, and invalid data (or a blanked credential) to be rejected:
            # neither refusal says anything against this credential.
            continue
        by_identity[identity].setdefault(label, Counter())[status] += 1
    run.identities = dict(by_identity)
    return run


def merged(*runs: Mapping[str, Answers] | None) -> dict[str, Answers]:
    """The answers of the preflight and of the fuzzing run together, per identity."""
    together: dict[str, Answers] = defaultdict(dict)
    for run in runs:
        for identity, answers in (run or {}).items():
            for label, statuses in answers.items():
                together[identity][label] = together[identity].get(label, Counter()) + statuses
    return dict(together)


def identity_proofs(answers: Mapping[str, Answers], count: int) -> list[IdentityProof]:
    """One proof per identity given, in the order given."""
    return [judged(name, answers.get(name, {})) for name in IDENTITY_NAMES[:count]]


def below_share(proofs: Iterable[IdentityProof], minimum: float) -> list[IdentityProof]:
    """Proven identities that most secured operations judging them refused: one 2xx somewhere
    proves a token works, not that the run tested the API behind it."""
    return [
        proof
        for proof in proofs
        if proof.status is IdentityStatus.PROVEN
        and proof.accepted_share is not None
        and proof.accepted_share < minimum
    ]


def bola_not_tested(proofs: list[IdentityProof]) -> BolaNotTested | None:
    if not proofs:
        return BolaNotTested.NO_IDENTITY
    if len(proofs) == 1:
        return BolaNotTested.ONE_IDENTITY
    if sum(p.status is IdentityStatus.PROVEN for p in proofs) < 2:
        return BolaNotTested.NOT_PROVEN
    return None
