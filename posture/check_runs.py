"""Store a finished check as a check run with its findings, so posture scoring can use it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from checks.report import CheckReport, ReportStatus
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.storage.models import CheckRun, Finding, Organisation, Product
from posture.storage.models.enums import RunStatus


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
    )
    session.add(run)
    session.flush()
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
