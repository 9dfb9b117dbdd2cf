"""Check runs and findings as their owners (and assessors) may see them, and each check's one
status in words.

A job and the run it records have a status each: the job's says whether the worker ran the check
(a check that could not reach its endpoint still "succeeded" as a job), the run's whether the
check could assess what it was given. People are shown one status that says what the check
found (`check_status`), decided here once for the page and the partner API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from checks.findings import SEVERITY_RANK, Severity
from checks.outputs import FAILING
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible, within_reach
from posture.jobs.checks import list_product_jobs
from posture.storage.models import CheckRun, Finding, Job
from posture.storage.models.enums import RunStatus


def check_runs_query(
    principal: Principal, product_id: int | None = None
) -> Select[tuple[CheckRun]]:
    """The check runs the principal may see, newest first."""
    query = select(CheckRun).order_by(CheckRun.id.desc())
    query = within_reach(query, CheckRun.organisation_id, principal, "check.read")
    if product_id is not None:
        query = query.where(CheckRun.product_id == product_id)
    return query


def list_check_runs(
    session: Session, principal: Principal, product_id: int | None = None
) -> list[CheckRun]:
    return list(session.scalars(check_runs_query(principal, product_id)))


def get_check_run(
    session: Session, principal: Principal, run_id: int
) -> tuple[CheckRun, list[Finding]]:
    run = load_visible(session, CheckRun, run_id, principal, "check.read", "check run")
    findings = list(
        session.scalars(select(Finding).where(Finding.check_run_id == run_id).order_by(Finding.id))
    )
    return run, findings


class CheckState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"  # the check ran and found what fails it, or could not assess its target
    COULD_NOT_RUN = "could_not_run"  # the job ended without a result (refused, crashed)
    CANCELLED = "cancelled"


ACTIVE = frozenset({CheckState.QUEUED, CheckState.RUNNING})
# The least severe finding that fails a check, named in its status ("at medium or above").
LEAST_FAILING = min(FAILING, key=SEVERITY_RANK.__getitem__)


@dataclass(frozen=True)
class CheckStatus:
    state: CheckState
    text: str  # what people read: "Failed: 3 findings at medium or above (score 42)"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass(frozen=True)
class RunOutcome:
    """What a recorded run says about its check: whether it could assess the target, its score
    and the severities of its findings."""

    status: RunStatus
    score: float | None
    severities: tuple[Severity, ...]


def _findings(count: int, what: str = "") -> str:
    return f"{count} {what}finding{'' if count == 1 else 's'}"


def run_status(run: RunOutcome) -> CheckStatus:
    """A recorded run in words. A finding severe enough to fail a CI gate (checks.outputs
    FAILING, the JUnit report's rule) fails the check; a run that could not assess fails it."""
    if run.status != RunStatus.SUCCEEDED:
        return CheckStatus(
            CheckState.FAILED,
            f"Failed: could not be assessed ({_findings(len(run.severities))})",
        )
    score = "" if run.score is None else f"score {run.score:g}"
    failing = sum(1 for s in run.severities if s in FAILING)
    if failing:
        said = f"{_findings(failing)} at {LEAST_FAILING} or above"
        return CheckStatus(CheckState.FAILED, f"Failed: {said}" + (f" ({score})" if score else ""))
    minor = len(run.severities)
    parts = [p for p in (score, _findings(minor, "minor ") if minor else "") if p]
    return CheckStatus(CheckState.PASSED, "Passed" + (": " + ", ".join(parts) if parts else ""))


def check_status(
    job_status: RunStatus,
    job_message: str,
    job_error: str | None,
    run: RunOutcome | None,
) -> CheckStatus:
    """One status for a check job and the run it recorded (None while it has none)."""
    if job_status == RunStatus.QUEUED:
        return CheckStatus(CheckState.QUEUED, "Queued")
    if job_status == RunStatus.RUNNING:
        said = f"Running: {job_message}" if job_message else "Running"
        return CheckStatus(CheckState.RUNNING, said)
    if job_status == RunStatus.CANCELLED:
        return CheckStatus(CheckState.CANCELLED, "Cancelled")
    if job_status == RunStatus.FAILED:
        reason = job_error or job_message or "no reason was recorded"
        return CheckStatus(CheckState.COULD_NOT_RUN, f"Could not run: {reason}")
    if run is None:
        return CheckStatus(CheckState.COULD_NOT_RUN, "Could not run: its result is not on record")
    return run_status(run)


def run_outcomes(session: Session, runs: Iterable[CheckRun]) -> dict[int, RunOutcome]:
    """Each run's outcome, by run id, reading the findings' severities in one query."""
    by_id = {run.id: run for run in runs}
    severities: dict[int, list[Severity]] = {run_id: [] for run_id in by_id}
    if by_id:
        rows = session.execute(
            select(Finding.check_run_id, Finding.severity).where(Finding.check_run_id.in_(by_id))
        )
        for run_id, severity in rows:
            severities[run_id].append(Severity(severity))
    return {
        run_id: RunOutcome(run.status, run.score, tuple(severities[run_id]))
        for run_id, run in by_id.items()
    }


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    status: CheckStatus
    progress: float
    queued_at: datetime
    check_run_id: int | None


def _recorded_runs(session: Session, jobs: Sequence[Job]) -> dict[int, RunOutcome]:
    run_ids = [j.payload["check_run_id"] for j in jobs if j.payload.get("check_run_id")]
    if not run_ids:
        return {}
    runs = session.scalars(select(CheckRun).where(CheckRun.id.in_(run_ids))).all()
    return run_outcomes(session, runs)


def _view(job: Job, outcomes: dict[int, RunOutcome]) -> JobView:
    run_id = job.payload.get("check_run_id")
    outcome = outcomes.get(run_id) if run_id else None
    return JobView(
        id=job.id,
        kind=str(job.payload.get("request", {}).get("kind", "")),
        status=check_status(job.status, job.message, job.error, outcome),
        progress=job.progress,
        queued_at=job.created_at,
        check_run_id=run_id,
    )


def product_check_jobs(session: Session, principal: Principal, product_id: int) -> list[JobView]:
    """The product's latest check jobs, newest first, each with its one status."""
    jobs = list_product_jobs(session, principal, product_id)
    outcomes = _recorded_runs(session, jobs)
    return [_view(job, outcomes) for job in jobs]


def job_status(session: Session, job: Job) -> CheckStatus:
    """One job's status (the caller has already checked that the job may be seen)."""
    return _view(job, _recorded_runs(session, [job])).status
