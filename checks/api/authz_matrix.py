"""The authorisation matrix (Burp's Autorize, for an API described in OpenAPI).

Every read of an identity's objects is replayed as the other identity and without a credential:
a 2xx with the owner's own body, or with another body holding the owner's distinctive values
(authz_compare.held), means the object leaked (API-AUTHZ-001 across identities, API-AUTHZ-002
anonymously). Without a credential any 2xx of a secured read is API-AUTHZ-002, unless it is the
answer the same operation gives a made-up id (not the object). Fuzzing finds this only when it
can create the objects itself; here they exist already, named in the objects file
(authz_objects.py) or found through list operations (authz_discovery.py). With --matrix-writes,
each object's PUT or PATCH is replayed as the other identity with the body its owner read, so
an accepted write changes nothing it did not already hold, and a 2xx is API-AUTHZ-003.
DELETE is never replayed.

An object counts only when its owner reads it (2xx, with something to compare), and when the
same operation answers a made-up id otherwise: an operation that answers every id alike (a
catch-all page) proves nothing. Every owner reads its objects before any is replayed, so the
values a caller sees in its own objects are known, and do not count as another's. A failure on
one object ends that object, not the matrix. All requests go through the probes' client: the
egress policy, the user's rate, one deadline.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import zip_longest
from typing import Any

from checks.api import authz_compare as compare
from checks.api.authz_discovery import discover
from checks.api.authz_objects import PLACEHOLDER, NamedObject, filled, object_url
from checks.api.authz_replay import (
    Baseline,
    Requester,
    alike,
    judged,
    one_per_operation,
    replay_evidence,
)
from checks.api.credentials import IDENTITY_NAMES
from checks.api.identities import bola_not_tested
from checks.api.live import LiveSettings
from checks.api.live_probes.client import Answer, OutOfTime, ProbeClient, requests_per_second
from checks.api.model import OpenApiView
from checks.api.phases import MATRIX_SECONDS, around_run
from checks.catalogue.api import (
    ApiResult,
    AuthzCell,
    AuthzMatrix,
    AuthzObject,
    IdentityProof,
    IdentityStatus,
)
from checks.egress import EgressPolicy
from checks.findings import CheckFinding, finding
from checks.report import CheckReport

MAX_BODY_BYTES = 64 * 1024
ABSENT = "assure-absent-object"
ANONYMOUS = "anonymous"
FAILED = "the matrix failed"
WRITE_METHODS = ("put", "patch")
WRITES_OFF = (
    "writes change data, so they were not replayed (--matrix-writes replays PUT and PATCH as "
    "the other identity); DELETE is never replayed"
)
WRITES_ON = (
    "PUT or PATCH replayed as the other identity with the body its owner read; DELETE is "
    "never replayed"
)
NO_OBJECTS = (
    "no object of either identity could be replayed as the other: none was named with "
    "--objects or found through a list operation, or its owner could not read it"
)


@dataclass
class _Matrix:
    view: OpenApiView
    base_url: str
    client: ProbeClient
    proven: dict[str, str]  # identity -> token
    writes: bool
    objects: list[AuthzObject] = field(default_factory=list)
    cells: list[AuthzCell] = field(default_factory=list)
    findings: list[CheckFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _control: dict[tuple[str, str], Answer | None] = field(default_factory=dict)
    _own_values: dict[str, set[str]] = field(default_factory=dict)

    def run(self, named: list[NamedObject]) -> None:
        if not self.proven:
            self.notes.append("no identity was proven, so none could own an object")
            return
        ready = []
        for obj in named:
            if obj.owner in self.proven:
                ready.append(obj)
            else:
                self._record(obj, None, f"its owner ({obj.owner}) was not proven to work")
        found, notes = discover(self.client, self.view, self.base_url, self.proven)
        self.notes += notes
        named_here = {(obj.owner, obj.path) for obj in ready}
        ready += [obj for obj in found if (obj.owner, obj.path) not in named_here]
        self._read_and_replay(_alternating(ready))

    def _read_and_replay(self, ready: list[NamedObject]) -> None:
        """Each object's owner reads it; it is replayed as soon as every other identity has
        read one of its own (or has none left), so the values a reader sees in its own objects
        are known, and a deadline that passes midway still leaves the first objects replayed."""
        left = Counter(obj.owner for obj in ready)
        waiting: list[Baseline] = []
        for obj in ready:
            left[obj.owner] -= 1
            baseline = self._guarded(obj, lambda o=obj: self._baseline(o), True)
            waiting += [baseline] if baseline is not None else []
            still = []
            for baseline in waiting:
                readers = [name for name in self.proven if name != baseline.obj.owner]
                if all(name in self._own_values or not left[name] for name in readers):
                    self._guarded(baseline.obj, lambda b=baseline: self._replay(b), False)
                else:
                    still.append(baseline)
            waiting = still

    def _guarded(self, obj: NamedObject, step: Callable[[], Any], reading: bool) -> Any:
        """The step's result; a failure of the matrix on one object ends that object only."""
        try:
            return step()
        except OutOfTime:
            raise
        except Exception as exc:  # a hostile answer, or the matrix's own fault
            why = f"{FAILED}: {obj.path}: {type(exc).__name__}: {exc}"[:300]
            self.notes.append(why)
            if reading and all((o.owner, o.path) != (obj.owner, obj.path) for o in self.objects):
                self._record(obj, None, why)
            return None

    def _record(self, obj: NamedObject, status: int | None, why: str | None) -> None:
        self.objects.append(
            AuthzObject(
                owner=obj.owner,
                path=obj.path,
                operation=obj.operation,
                source=obj.source,
                status=status,
                usable=why is None,
                not_usable=why,
            )
        )

    def _why_not(
        self, obj: NamedObject, owner: Requester, first: Answer | None, again: Answer | None
    ) -> tuple[str | None, frozenset[str]]:
        """Why the owner's read cannot stand as the baseline (None when it can), and the fields
        that differed between the owner's two reads."""
        if first is None:
            return "its owner's read got no answer", frozenset()
        if not 200 <= first.status < 300:
            return f"its owner's read answered HTTP {first.status}", frozenset()
        ignored = frozenset(
            compare.differing(compare.parsed(first.body), compare.parsed(again.body))
            if again is not None and 200 <= again.status < 300
            else ()
        )
        if not compare.meaningful(first.body, ignored):
            return "its owner's answer held nothing to compare", ignored
        control = self._control_for(owner, obj)
        if alike(control, first.body, ignored):
            return (
                f"{obj.operation} answered a made-up id with the same body: its answer does "
                "not depend on the object"
            ), ignored
        return None, ignored

    def _baseline(self, obj: NamedObject) -> Baseline | None:
        owner = Requester(obj.owner, self.proven[obj.owner])
        url = object_url(self.base_url, obj.path)
        first = self.client.send("GET", url, owner.headers(), note=owner.note)
        again = None
        if first is not None and 200 <= first.status < 300:
            again = self.client.send("GET", url, owner.headers(), note=owner.note)
        why, ignored = self._why_not(obj, owner, first, again)
        self._record(obj, None if first is None else first.status, why)
        if why is not None or first is None:
            return None
        seen = self._own_values.setdefault(obj.owner, set())
        seen |= compare.distinct_values(first.body, ignored)
        return Baseline(obj, owner, url, first, ignored)

    def _replay(self, baseline: Baseline) -> None:
        obj = baseline.obj
        others = [Requester(n, t) for n, t in self.proven.items() if n != obj.owner]
        readers = others + ([Requester(ANONYMOUS, None)] if self._secured(obj) else [])
        if not self._secured(obj):
            self.notes.append(f"{obj.path}: public in the description, not read anonymously")
        for reader in readers:
            answer = self.client.send("GET", baseline.url, reader.headers(), note=reader.note)
            self._cell(baseline, reader, "GET", answer)
        if self.writes:
            self._replay_writes(baseline, others)

    def _control_for(self, requester: Requester, obj: NamedObject) -> Answer | None:
        """The operation's answer to a made-up id, sent as this requester (once per template)."""
        if obj.template is None:
            return None
        key = (requester.name, obj.template)
        if key not in self._control:
            absent = {name: ABSENT for name in PLACEHOLDER.findall(obj.template)}
            url = object_url(self.base_url, filled(obj.template, absent))
            self._control[key] = self.client.send(
                "GET", url, requester.headers(), note=requester.note
            )
        return self._control[key]

    def _public(self, baseline: Baseline, reader: Requester) -> frozenset[str]:
        """Values the reader sees anyway: in its own objects, and in the operation's answer to
        a made-up id."""
        control = self._control.get((baseline.owner.name, baseline.obj.template or ""))
        shown = compare.distinct_values(control.body) if control is not None else frozenset()
        return frozenset(self._own_values.get(reader.name, set())) | shown

    def _secured(self, obj: NamedObject) -> bool:
        """A named path the description lacks is taken as secured: the user says it is owned."""
        for op in self.view.operations():
            if op.method == "get" and op.path == obj.template:
                return self.view.needs_credential(op)
        return True

    def _replay_writes(self, baseline: Baseline, others: list[Requester]) -> None:
        obj, first = baseline.obj, baseline.first
        declared = {op.method for op in self.view.operations() if op.path == obj.template}
        method = next((m for m in WRITE_METHODS if m in declared), None)
        if method is None or not others:
            return
        if compare.parsed(first.body) is compare.NOT_JSON or len(first.body) >= MAX_BODY_BYTES:
            self.notes.append(f"{obj.path}: its owner's body is not whole JSON, not written back")
            return
        for writer in others:
            headers = writer.headers({"Content-Type": "application/json"})
            answer = self.client.send(
                method.upper(), baseline.url, headers, first.body, note=writer.note
            )
            self._cell(baseline, writer, method.upper(), answer)

    def _cell(
        self, baseline: Baseline, other: Requester, method: str, answer: Answer | None
    ) -> None:
        obj = baseline.obj
        public = self._public(baseline, other)
        made_up = partial(self._control_for, other, baseline.obj)  # sent only when needed
        outcome, note, holds, leaked = judged(baseline, other, answer, public, made_up)
        self.cells.append(
            AuthzCell(
                path=obj.path,
                owner=obj.owner,
                requester=other.name,
                method=method,
                status=None if answer is None else answer.status,
                outcome=outcome,
                note=note,
            )
        )
        if answer is None:
            return
        evidence = replay_evidence(baseline, other, answer, note, holds)
        if method != "GET" and 200 <= answer.status < 300:
            self.findings.append(finding("API-AUTHZ-003", **evidence))
        elif method == "GET" and leaked:
            if other.token:
                self.findings.append(finding("API-AUTHZ-001", **evidence))
            else:
                self.findings.append(finding("API-AUTHZ-002", **evidence))


def run_matrix(
    document: dict[str, Any],
    base_url: str,
    tokens: list[str],
    proofs: list[IdentityProof],
    policy: EgressPolicy,
    settings: LiveSettings,
    named: list[NamedObject] | None = None,
    writes: bool = False,
) -> tuple[list[CheckFinding], AuthzMatrix]:
    started = time.monotonic()
    seconds = around_run(MATRIX_SECONDS, settings.budget_seconds)
    client = ProbeClient(
        policy=policy,
        request_timeout=settings.request_timeout,
        deadline=started + seconds,
        per_second=requests_per_second(settings.rate_limit),
        max_body_bytes=MAX_BODY_BYTES,
    )
    proven = {
        proof.identity: token
        for proof, token in zip(proofs, tokens, strict=False)
        if proof.status is IdentityStatus.PROVEN
    }
    matrix = _Matrix(OpenApiView(document), base_url, client, proven, writes)
    try:
        matrix.run(named or [])
    except OutOfTime:
        matrix.notes.append(f"the matrix's {seconds:g}s deadline passed; later objects not tried")
    except Exception as exc:  # the matrix's own fault ends the matrix, not the check
        matrix.notes.append(f"{FAILED}: {type(exc).__name__}: {exc}"[:300])
    return one_per_operation(matrix.findings), AuthzMatrix(
        objects=tuple(matrix.objects),
        cells=tuple(matrix.cells),
        writes=writes,
        writes_note=WRITES_ON if writes else WRITES_OFF,
        requests=client.sent,
        seconds=round(time.monotonic() - started, 3),
        notes=tuple(n[:300] for n in _kept(matrix.notes + client.errors)),
    )


def _alternating(objects: list[NamedObject]) -> list[NamedObject]:
    """The objects, one identity's then the other's in turn, each identity's in its order."""
    owners: dict[str, list[NamedObject]] = {}
    for obj in objects:
        owners.setdefault(obj.owner, []).append(obj)
    turns = zip_longest(*owners.values())
    return [obj for turn in turns for obj in turn if obj is not None]


def _kept(notes: list[str], most: int = 50) -> list[str]:
    """At most `most` notes, the matrix's failures first (the not-tested reason reads them)."""
    return (
        [n for n in notes if n.startswith(FAILED)] + [n for n in notes if not n.startswith(FAILED)]
    )[:most]


def cross_identity_untested(proofs: list[IdentityProof], matrix: AuthzMatrix) -> str | None:
    """The one reason object-level authorisation between identities was not tested: too few
    proven identities (identities.bola_not_tested), else the matrix's failure, else no object
    to replay; None when an object was replayed as the other identity."""
    why = bola_not_tested(proofs)
    if why is not None:
        return why.value
    if any(cell.requester in IDENTITY_NAMES for cell in matrix.cells):
        return None
    failed = next((note for note in matrix.notes if note.startswith(FAILED)), None)
    return failed or NO_OBJECTS


def with_matrix(
    report: CheckReport, matrix: AuthzMatrix, proofs: list[IdentityProof]
) -> CheckReport:
    """The report with the matrix, and why object-level authorisation between identities was
    not tested, recorded on its live run."""
    result = ApiResult.model_validate(report.details)
    if result.live is None:
        return report
    live = result.live.model_copy(
        update={"authz_matrix": matrix, "bola_not_tested": cross_identity_untested(proofs, matrix)}
    )
    details = result.model_copy(update={"live": live}).as_details()
    return report.model_copy(update={"details": details})
