"""Track a recorded check run's findings: open what is new, refresh what is seen again, reopen
what returns, and close what a later, complete run of the same kind and target no longer shows.

Fail closed: only a run that assessed its subject in full (succeeded, with no finding that says
it could not look: findings.yaml `blocks_assessment`) may close anything, and a file a supplier
uploaded itself (a CBOM, a certificate, a JWKS or API description given as a file) closes
nothing: its silence is the supplier's word, not something the platform saw. Such findings stay
open, listed as `held`, until a run the platform observed (a live endpoint or URL) or a file run
by someone outside the supplier no longer shows them. A run that errored,
timed out, found nothing answering or stopped at a limit proves nothing by its silence; the
findings it did show are still tracked. A run only ever touches findings of its own
organisation, product, kind and target. The work is one read of those findings and a bounded
number of statements, whatever the estate's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from checks.catalogue import InputKind, spec_for
from checks.findings import SEVERITY_RANK, Severity, finding_catalogue
from kernel.clock import utcnow
from posture.audit import SYSTEM, record
from posture.findings.sla import finding_sla
from posture.findings.subjects import finding_key, finding_subject
from posture.storage.dialects import upsert_insert
from posture.storage.models import CheckRun, Finding, Membership, TrackedFinding
from posture.storage.models.enums import SUPPLIER_ROLES, RunStatus
from posture.storage.models.finding_lifecycle import ACTIVE_STATUSES, FindingStatus

# Rows per INSERT: well inside SQLite's bound on parameters in one statement.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class TrackResult:
    """What one run changed, by tracked finding id."""

    check_run_id: int
    assessed: bool  # whether the run could close findings (fail closed when not)
    opened: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    # Absent from a complete run of the supplier's own file: fixed by its word, awaiting a run
    # the platform observed or someone outside the supplier asked for.
    held: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Shown:
    code: str
    subject: str
    severity: Severity
    title: str


def _blocking_codes() -> frozenset[str]:
    return frozenset(
        code for code, d in finding_catalogue().findings.items() if d.blocks_assessment
    )


def run_assessed(run: CheckRun, codes: set[str]) -> bool:
    """Whether a run may close findings: it succeeded and nothing stopped it looking."""
    return run.status == RunStatus.SUCCEEDED and not codes & _blocking_codes()


def supplier_declared(session: Session, run: CheckRun) -> bool:
    """Whether the run read only what its supplier declared: a file (not a URL the checker
    fetched or probed) sent by someone who belongs to the supplier's own organisation."""
    if spec_for(run.kind).input is InputKind.ENDPOINT or _is_url(run.target):
        return False
    if run.requested_by_user_id is None:  # an operator's command or the platform's own worker
        return False
    membership = session.scalar(
        select(Membership.id).where(
            Membership.user_id == run.requested_by_user_id,
            Membership.organisation_id == run.organisation_id,
            Membership.role.in_(SUPPLIER_ROLES),
        )
    )
    return membership is not None


def _is_url(target: str) -> bool:
    return urlsplit(target).scheme in {"http", "https"}


def _scope(run: CheckRun) -> tuple[ColumnElement[bool], ...]:
    product = (
        TrackedFinding.product_id.is_(None)
        if run.product_id is None
        else TrackedFinding.product_id == run.product_id
    )
    return (
        TrackedFinding.organisation_id == run.organisation_id,
        product,
        TrackedFinding.kind == str(run.kind),
        TrackedFinding.target == run.target,
    )


def _shown(session: Session, run: CheckRun) -> tuple[dict[str, _Shown], set[str]]:
    rows = session.execute(
        select(Finding.code, Finding.severity, Finding.title, Finding.evidence).where(
            Finding.check_run_id == run.id
        )
    ).all()
    shown: dict[str, _Shown] = {}
    sla = finding_sla()
    for code, severity, title, evidence in rows:
        if not sla.tracks(severity):
            continue
        subject = finding_subject(evidence or {})
        key = finding_key(
            run.organisation_id, run.product_id, str(run.kind), run.target, code, subject
        )
        item = _Shown(code, subject, Severity(severity), title[:300])
        # One run may show a fault twice (capped lint hits): the worse showing stands.
        if key not in shown or SEVERITY_RANK[item.severity] > SEVERITY_RANK[shown[key].severity]:
            shown[key] = item
    return shown, {code for code, *_ in rows}


def track_check_run(session: Session, run: CheckRun) -> TrackResult:
    """Bring the run's product (or organisation) findings of its kind and target up to date, in
    the caller's transaction, and audit what changed."""
    at = run.finished_at or utcnow()
    shown, codes = _shown(session, run)
    assessed = run_assessed(run, codes)
    existing = session.execute(
        select(
            TrackedFinding.id,
            TrackedFinding.key,
            TrackedFinding.status,
            TrackedFinding.last_seen_at,
            TrackedFinding.resolved_at,
            TrackedFinding.severity,
            TrackedFinding.first_seen_at,
        ).where(*_scope(run))
    ).all()
    by_key = {row.key: row for row in existing}
    seen = [by_key[k].id for k in shown if k in by_key]
    reopen = [
        by_key[k].id
        for k in shown
        if k in by_key
        and by_key[k].status == FindingStatus.RESOLVED
        and (by_key[k].resolved_at is None or by_key[k].resolved_at < at)
    ]
    absent = [
        row.id
        for row in existing
        if row.key not in shown and row.status in ACTIVE_STATUSES and row.last_seen_at <= at
    ]
    held = absent if assessed and supplier_declared(session, run) else []
    resolve = absent if assessed and not held else []
    regraded: list[dict[str, Any]] = []
    if seen:
        session.execute(
            update(TrackedFinding)
            .where(TrackedFinding.id.in_(seen), TrackedFinding.last_seen_at <= at)
            .values(last_seen_at=at, last_check_run_id=run.id)
            .execution_options(synchronize_session=False)
        )
        sla = finding_sla()
        # A code whose severity the catalogue changed: the latest run says, and its due date
        # follows from when it was first seen at the new severity.
        regraded = [
            {
                "id": by_key[k].id,
                "severity": item.severity,
                "title": item.title,
                "due_at": sla.due_from(item.severity, by_key[k].first_seen_at),
            }
            for k, item in shown.items()
            if k in by_key and by_key[k].severity != item.severity
        ]
        if regraded:
            session.execute(update(TrackedFinding), regraded)
    if reopen:
        session.execute(
            update(TrackedFinding)
            .where(TrackedFinding.id.in_(reopen), TrackedFinding.status == FindingStatus.RESOLVED)
            .values(
                status=FindingStatus.OPEN,
                reopened_count=TrackedFinding.reopened_count + 1,
                resolved_at=None,
                resolved_check_run_id=None,
                # The same fault back keeps its first due date and any breach alerted: a brief
                # fix (or a run against a clean stand-in) must not restart the SLA clock.
                version=TrackedFinding.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
    if resolve:
        session.execute(
            update(TrackedFinding)
            .where(TrackedFinding.id.in_(resolve), TrackedFinding.status.in_(ACTIVE_STATUSES))
            .values(
                status=FindingStatus.RESOLVED,
                resolved_at=at,
                resolved_check_run_id=run.id,
                version=TrackedFinding.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
    opened = _open_new(session, run, at, {k: v for k, v in shown.items() if k not in by_key})
    result = TrackResult(run.id, assessed, opened, seen, reopen, resolve, held)
    regraded_ids = [row["id"] for row in regraded]
    if opened or reopen or resolve or regraded_ids or held:
        record(
            session,
            SYSTEM,
            "finding.tracked",
            "check_run",
            run.id,
            {
                "check_run_id": run.id,
                "kind": str(run.kind),
                "opened": opened,
                "reopened": reopen,
                "resolved": resolve,
                "regraded": regraded_ids,
                "held": held,
            },
            organisation_id=run.organisation_id,
        )
    return result


def _open_new(session: Session, run: CheckRun, at: datetime, new: dict[str, _Shown]) -> list[int]:
    if not new:
        return []
    sla = finding_sla()
    rows = [
        {
            "organisation_id": run.organisation_id,
            "product_id": run.product_id,
            "kind": str(run.kind),
            "target": run.target,
            "subject": item.subject,
            "code": item.code[:64],
            "key": key,
            "severity": item.severity.value,
            "title": item.title,
            "status": FindingStatus.OPEN.value,
            "first_seen_at": at,
            "last_seen_at": at,
            "first_check_run_id": run.id,
            "last_check_run_id": run.id,
            "reopened_count": 0,
            "due_at": sla.due_from(item.severity, at),
            "version": 1,
        }
        for key, item in new.items()
    ]
    # A run of the same subject recorded at the same moment in another transaction may have
    # opened the same key: its row stands and this run leaves it be.
    opened: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            upsert_insert(session, TrackedFinding)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing()
            .returning(TrackedFinding.id)
        )
        opened.extend(session.scalars(statement))
    return sorted(opened)
