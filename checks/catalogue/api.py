"""API: lint an OpenAPI description and, given a base URL, test the live API with schemathesis.

Beyond its score the check gives a verdict: it fails when a hard gate does, whatever the score.
The verdict is what this kind adds to the renderers every report has: a line of the CLI's
output, a JUnit test case and a property of the SARIF run.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.outputs import JUnitCase

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder


class ApiVerdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"


class UnconfirmedFailure(ResultPart):
    """A failure schemathesis reported that the request it sent did not bear out
    (checks/api/confirm.py): kept as evidence, not scored."""

    code: str
    operation: str
    curl: str | None = None
    reason: str


class IdentityStatus(StrEnum):
    PROVEN = "proven"  # a secured operation answered 2xx to it
    REFUSED = "refused"  # every secured operation answered 401 or 403 to it
    UNPROVEN = "unproven"  # neither: nothing secured accepted it, not everything refused it


class IdentityProof(ResultPart):
    """What the live run showed of one identity given (checks/api/identities.py); the token
    itself is never recorded."""

    identity: str  # primary, secondary: the order the tokens were given in
    status: IdentityStatus
    responses: dict[str, int] = Field(
        default_factory=dict
    )  # status code -> answers to secured operations sent with it
    # Secured operations sent with it that answered at all, that answered 2xx at least once, and
    # that refused it (401/403, or 404 on a path with no template) and never answered 2xx; the
    # share is accepted / (accepted + refused), None when no operation judged it either way.
    secured_tried: int = 0
    secured_accepted: int = 0
    secured_refused: int = 0
    accepted_share: float | None = None
    # Why it could not be judged at all: no request to a secured operation was sent with it.
    # Such an identity leaves the result provisional.
    untested: str | None = None


class LiveProbeOutcome(ResultPart):
    """One live probe beyond schemathesis (checks/api/live_probes): what it sent and found, or
    why it did not run. Evidence of each fault is in its finding; the token is never recorded."""

    probe: str  # cors, jwt, debug_pages, rate_limit, mass_assignment
    ran: bool = False
    requests: int = 0
    operation: str | None = None  # "GET /v1/notes": where it probed
    findings: tuple[str, ...] = ()  # codes it raised
    skipped: str | None = None  # why it did not run (or stopped), in words
    notes: tuple[str, ...] = ()


class AuthzOutcome(StrEnum):
    """What one replay of an owner's request, as another identity or anonymously, got."""

    ALLOWED_SAME_BODY = "allowed-same-body"  # 2xx with the owner's answer: the object leaked
    # 2xx with another body that holds the owner's id and values: the object leaked
    ALLOWED_OWNERS_VALUES = "allowed-owners-values"
    ALLOWED_DIFFERENT_BODY = "allowed-different-body"  # 2xx with another answer (cell.note says)
    REFUSED = "refused"  # 3xx or 4xx
    ERROR = "error"  # 5xx, or no answer


class AuthzObject(ResultPart):
    """One object of the authorisation matrix (checks/api/authz_matrix.py): named in the
    objects file or found through a list operation, and whether its owner could read it."""

    owner: str  # primary, secondary
    path: str  # /v1/notes/17, relative to the base URL
    operation: str | None = None  # "GET /v1/notes/{id}" when the description has it
    source: str = "file"  # file, discovered
    status: int | None = None  # what the owner's read answered
    usable: bool = False  # its owner read it (2xx, something to compare)
    not_usable: str | None = None  # why not, in words


class AuthzCell(ResultPart):
    """One replay: the owner's request for an object sent as someone else."""

    path: str
    owner: str
    requester: str  # the other identity, or anonymous
    method: str = "GET"
    status: int | None = None
    outcome: AuthzOutcome
    note: str | None = None  # why an allowed replay is, or is not, a leak


class AuthzMatrix(ResultPart):
    """Every read (and, with --matrix-writes, write) of each identity's objects replayed as the
    other identity and anonymously; why identity 2 was not replayed is in bola_not_tested."""

    objects: tuple[AuthzObject, ...] = ()
    cells: tuple[AuthzCell, ...] = ()
    writes: bool = False  # writes were replayed (they change data: only when asked)
    writes_note: str | None = None
    requests: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what discovery found or missed, the deadline


class ApiLiveRun(ResultPart):
    """The live run against the base URL: how far it got and how to reproduce it."""

    completed: bool = False
    timed_out: bool = False
    # Operations with an answer of their own (not 5xx, 429 or 405, nor 404 on a path with no
    # template: checks/api/identities.py), not merely sent a request.
    operations_tested: int = 0
    operations_total: int = 0
    coverage: float = 0.0  # tested / total, to three places
    operations_unanswered: tuple[str, ...] = ()  # sent requests, got no answer of their own
    seed: int | None = None
    command: tuple[str, ...] = ()  # the schemathesis command line
    seconds: float | None = None
    identities: int = 0  # bearer tokens given: two test object-level authorisation
    identity_proofs: tuple[IdentityProof, ...] = ()
    # Why object-level authorisation between identities was not tested (too few proven
    # identities, or no object of one to replay as the other); None when it was.
    bola_not_tested: str | None = None
    authz_matrix: AuthzMatrix | None = None  # the objects replayed across identities
    not_followed: tuple[str, ...] = ()  # $refs the bundled description could not follow
    unconfirmed: tuple[UnconfirmedFailure, ...] = ()
    probes: tuple[LiveProbeOutcome, ...] = ()  # the OWASP API Top 10 probes after the run
    # Why schemathesis stopped ("completed", or "max_time" when a time budget cut the run), and
    # the operations it never reached: what the budget cost.
    stop_reason: str | None = None
    stopped_for_time: bool = False
    operations_not_reached: tuple[str, ...] = ()


class ApiResult(CheckResult):
    """The description as linted, the live run if there was one, and the verdict. A
    description that could not be assessed has no verdict and no version."""

    openapi_version: str | None = None
    spec_bytes: int | None = None
    operations: int | None = None  # operations the description declares
    gate_failed: tuple[str, ...] = ()  # codes of the hard gates that failed
    verdict: ApiVerdict | None = None
    # Provisional unless a live run covered enough of the operations to stand on.
    provisional: bool = True
    live: ApiLiveRun | None = None

    @property
    def verdict_text(self) -> str:
        return self.verdict.value if self.verdict else "not assessable"


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.api.check import run_api_check
    from checks.api.live import LiveSettings

    check = order.check
    # The description is bundled from where it is (its relative $refs resolve there), so the
    # check reads the file or the URL itself rather than bytes handed over.
    source = order.input_file or check.target
    live = LiveSettings(**(check.live or {}))
    # The JWT probe's signed tokens are secrets: they travel beside the settings, not in them.
    live = replace(
        live,
        expired_token=check.expired_token,
        other_audience_token=check.other_audience_token,
    )
    report = run_api_check(
        source,
        policy,
        check.base_url,
        list(check.tokens),
        live,
        objects=check.objects,
        matrix_writes=check.matrix_writes,
    )
    if order.input_file and report.target == source:
        # The file's own name, not where the sandbox happened to put it.
        report = report.model_copy(update={"target": check.file_name or "upload"})
    return report


def verdict_lines(report: CheckReport) -> list[str]:
    result = ApiResult.model_validate(report.details)
    lines = [f"verdict: {result.verdict_text}{' (provisional)' if result.provisional else ''}"]
    if result.gate_failed:
        lines.append("gates failed: " + ", ".join(result.gate_failed))
    return lines


def gate_case(report: CheckReport) -> list[JUnitCase]:
    """The hard gates as one test case, which fails when any of them does."""
    gates = ApiResult.model_validate(report.details).gate_failed
    failure = "gate failed: " + ", ".join(gates) if gates else None
    return [JUnitCase(f"{report.kind}.gates", "hard gates", failure)]


def verdict_properties(report: CheckReport) -> dict[str, Any]:
    result = ApiResult.model_validate(report.details)
    return {
        "verdict": result.verdict_text,
        "provisional": result.provisional,
        "gate_failed": list(result.gate_failed),
    }


SPEC = CheckSpec(
    kind=CheckKind.API,
    label="OpenAPI description (+ optional sandbox URL)",
    summary=(
        "Lint an OpenAPI description and, with --base-url, test the live API with schemathesis."
    ),
    input=InputKind.FILE_OR_URL,
    run=run,
    post_quantum=False,
    live=True,
    result=ApiResult,
    console=verdict_lines,
    junit=gate_case,
    sarif=verdict_properties,
)
