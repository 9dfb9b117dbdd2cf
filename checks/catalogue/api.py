"""API: lint an OpenAPI description and, given a base URL, test the live API with schemathesis.

Beyond its score the check gives a verdict: it fails when a hard gate does, whatever the score.
The verdict is what this kind adds to the renderers every report has: a line of the CLI's
output, a JUnit test case and a property of the SARIF run.
"""

from __future__ import annotations

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


class ApiLiveRun(ResultPart):
    """The live run against the base URL: how far it got and how to reproduce it."""

    completed: bool = False
    timed_out: bool = False
    operations_tested: int = 0
    operations_total: int = 0
    coverage: float = 0.0  # tested / total, to three places
    seed: int | None = None
    command: tuple[str, ...] = ()  # the schemathesis command line
    seconds: float | None = None
    identities: int = 0  # bearer tokens given: two test object-level authorisation
    identity_proofs: tuple[IdentityProof, ...] = ()
    # Why object-level authorisation between identities was not tested; None when it was.
    bola_not_tested: str | None = None
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
    report = run_api_check(source, policy, check.base_url, list(check.tokens), live)
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
