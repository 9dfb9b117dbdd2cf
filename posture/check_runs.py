"""Store a finished check as a check run with its findings, so posture scoring can use it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from checks.report import CheckReport, ReportStatus
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.check_milestones import record_milestones
from posture.storage.models import CheckRun, Finding, Organisation, Product
from posture.storage.models.enums import RunStatus


def report_certificate_not_after(report: CheckReport) -> datetime | None:
    """The soonest expiry of any certificate the report saw, for kinds that see certificates."""
    try:
        result = report.result()
    except (ValueError, TypeError):
        return None
    certificates = getattr(result, "certificates", ()) or ()
    return min((c.not_after for c in certificates), default=None)


def record_check_run(
    session: Session,
    actor: Actor,
    report: CheckReport,
    organisation_id: int,
    product_id: int | None = None,
) -> CheckRun:
    if session.get(Organisation, organisation_id) is None:
        raise ValidationFailed(f"no organisation {organisation_id}")
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None or product.organisation_id != organisation_id:
            raise ValidationFailed(f"no product {product_id} in organisation {organisation_id}")
    completed = report.status is ReportStatus.COMPLETED
    run = CheckRun(
        organisation_id=organisation_id,
        product_id=product_id,
        kind=report.kind,
        target=report.target[:2048],
        status=RunStatus.SUCCEEDED if completed else RunStatus.FAILED,
        score=report.score,
        result=report.model_dump(mode="json"),
        error=None if completed else "; ".join(f.title for f in report.findings)[:2000],
        requested_by_user_id=actor.user_id,
        created_at=report.started_at,
        started_at=report.started_at,
        finished_at=report.finished_at,
        # Kept beside the run so the daily expiry sweep reads a column, not every stored result.
        certificate_not_after=report_certificate_not_after(report) if completed else None,
    )
    session.add(run)
    session.flush()
    record_milestones(session.connection(), [(run.id, run.result)])
    for item in report.findings:
        session.add(
            Finding(
                check_run_id=run.id,
                code=item.code,
                severity=item.severity.value,
                title=item.title,
                evidence=item.evidence,
                advice=item.advice,
                outcome_ids=item.outcome_ids,
            )
        )
    record(
        session,
        actor,
        "check.run",
        "check_run",
        run.id,
        {
            "kind": report.kind,
            "target": report.target,
            "score": report.score,
            "findings": [f.code for f in report.findings],
        },
        organisation_id=organisation_id,
    )
    return run


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def latest_run_ids(*conditions: Any) -> Select[tuple[int]]:
    """The newest finished run of each kind for each subject (organisation, product), among the
    runs `conditions` select. A run that could not assess its subject (recorded as failed) is
    the newest evidence too: it replaces the older run rather than leaving it to stand, so an
    endpoint that stops answering never keeps an earlier clean result counting."""
    return latest_run_columns((), *conditions)


def latest_run_columns(columns: Sequence[Any], *conditions: Any) -> Select[Any]:
    """latest_run_ids with `columns` of each run beside its id, read in the same pass: the
    ranking index holds the status and score, so those need no second read of the table."""
    ranked = (
        select(
            CheckRun.id,
            *columns,
            func.row_number()
            .over(
                partition_by=(CheckRun.organisation_id, CheckRun.product_id, CheckRun.kind),
                order_by=(CheckRun.finished_at.desc(), CheckRun.id.desc()),
            )
            .label("rank"),
        )
        .where(CheckRun.status.in_(FINISHED), *conditions)
        .subquery()
    )
    return select(ranked.c.id, *(ranked.c[column.key] for column in columns)).where(
        ranked.c.rank == 1
    )
