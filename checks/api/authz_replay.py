"""One replay of an owner's read, judged: the owner's answer it is judged against, who sent
it, whether it leaked the object (authz_compare), and its evidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from checks.api import authz_compare as compare
from checks.api.authz_objects import NamedObject
from checks.api.credentials import bearer
from checks.api.evidence import EXCERPT_CHARS
from checks.api.live_probes.client import Answer
from checks.catalogue.api import AuthzOutcome
from checks.findings import CheckFinding

MAX_SHOWN_VALUES = 5
MAX_CASES = 10  # of one fault, each with both exchanges
SAME = "the owner's answer, as its owner got it"
NOT_THE_OBJECT = "the same answer as for a made-up id without a credential: not the object"
ANONYMOUS_2XX = "a secured read answered 2xx without a credential"
NONE_HELD = (
    "another body, holding none of the owner's distinctive values (its id and one more of its "
    "fields): not judged a leak"
)


@dataclass(frozen=True)
class Requester:
    name: str  # primary, secondary, anonymous
    token: str | None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**bearer(self.token), **(extra or {})}

    @property
    def note(self) -> str | None:
        return f"identity token ({self.name})" if self.token else None


@dataclass(frozen=True)
class Baseline:
    """An object its owner read: the answer a replay is judged against."""

    obj: NamedObject
    owner: Requester
    url: str
    first: Answer
    ignored: frozenset[str]  # fields that differed between the owner's two reads

    @property
    def object_id(self) -> str | None:
        """The id the path names: its template's last value, else its last segment."""
        if self.obj.params:
            return str(list(self.obj.params.values())[-1])
        segments = [s for s in self.obj.path.split("?")[0].split("/") if s]
        return unquote(segments[-1]) if segments else None


def alike(control: Answer | None, body: bytes, ignored: frozenset[str]) -> bool:
    """A 2xx control answer (a made-up id) alike to this body: the answer is not the object."""
    return (
        control is not None
        and 200 <= control.status < 300
        and compare.same_body(control.body, body, ignored)
    )


def judged(
    baseline: Baseline,
    other: Requester,
    answer: Answer | None,
    public: frozenset[str],
    made_up: Callable[[], Answer | None],
) -> tuple[AuthzOutcome, str | None, tuple[str, ...], bool]:
    """The replay's outcome, why, the owner's values it held, and whether it leaked. `public`
    are values the reader sees anyway; `made_up` sends the read of a made-up id without a
    credential (only when a 2xx to no credential needs telling apart from the object)."""
    status = None if answer is None else answer.status
    if answer is None or not 200 <= answer.status < 300:
        return compare.outcome(status, False), None, (), False
    same = compare.same_body(baseline.first.body, answer.body, baseline.ignored)
    holds = (
        ()
        if same
        else compare.held(
            baseline.first.body, answer.body, baseline.object_id, baseline.ignored, public
        )
    )
    result = compare.outcome(status, same, bool(holds))
    if same:
        return result, SAME, (), True
    if holds:
        values = ", ".join(repr(v[:40]) for v in holds[:MAX_SHOWN_VALUES])
        return result, f"another body holding the owner's values: {values}", holds, True
    if other.token is None:
        if alike(made_up(), answer.body, baseline.ignored):
            return result, NOT_THE_OBJECT, (), False
        return result, ANONYMOUS_2XX, (), True
    return result, NONE_HELD, (), False


def replay_evidence(
    baseline: Baseline,
    other: Requester,
    answer: Answer,
    why: str | None,
    holds: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "object": baseline.obj.path,
        "operation": baseline.obj.operation,
        "owner": baseline.owner.name,
        "requester": other.name,
        "why": why,
        "owner_values_held": [v[:80] for v in holds[:MAX_SHOWN_VALUES]],
        "owner_exchange": shown(baseline.first),
        "replayed_exchange": shown(answer),
        "ignored_fields": compare.left_out(baseline.first.body, baseline.ignored),
    }


def shown(answer: Answer) -> dict[str, Any]:
    """The exchange as evidence: headers redacted by the client, the body cut short (a
    token the body echoes is redacted with the whole report: evidence.scrubbed_report)."""
    exchange = answer.evidence()
    exchange["response_excerpt"] = answer.body[:EXCERPT_CHARS].decode("utf-8", "replace")
    return exchange


def one_per_operation(findings: list[CheckFinding]) -> list[CheckFinding]:
    """One finding per code and operation: the same fault on several objects, or in both
    directions between the identities, is one fault. The first case stays whole at the top of
    the evidence; `objects` names every object, and `more_cases` keeps the next few whole."""
    groups: dict[tuple[str, str], list[CheckFinding]] = {}
    for item in findings:
        groups.setdefault((item.code, str(item.evidence.get("operation"))), []).append(item)
    result = []
    for same in groups.values():
        first, rest = same[0], same[1:]
        replayed = first.evidence.get("replayed_exchange") or {}
        evidence = first.evidence | {
            # The keys every live finding has, so exports and folding read them alike.
            "operations": [str(first.evidence.get("operation"))],
            "curl": replayed.get("curl"),
            "objects": sorted({str(f.evidence.get("object")) for f in same}),
            "count": len(same),
            "more_cases": [f.evidence for f in rest[: MAX_CASES - 1]],
            "cases_left_out": max(0, len(rest) - (MAX_CASES - 1)),
        }
        result.append(first.model_copy(update={"evidence": evidence}))
    return result
