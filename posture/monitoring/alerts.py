"""Store the alerts a monitored endpoint's new check run raises against its previous run."""

from __future__ import annotations

from sqlalchemy.orm import Session

from checks.report import CheckReport
from posture.audit import SYSTEM, record
from posture.monitoring.changes import check_run_alerts
from posture.storage.models import Alert, CheckRun, MonitoredEndpoint


def record_endpoint_run(
    session: Session, endpoint_id: int, run: CheckRun, report: CheckReport
) -> list[Alert]:
    endpoint = session.get(MonitoredEndpoint, endpoint_id)
    if endpoint is None:
        return []
    previous_run = (
        session.get(CheckRun, endpoint.last_check_run_id) if endpoint.last_check_run_id else None
    )
    previous = (
        CheckReport.model_validate(previous_run.result)
        if previous_run is not None and previous_run.result
        else None
    )
    alerts = [
        Alert(
            organisation_id=endpoint.organisation_id,
            product_id=endpoint.product_id,
            endpoint_id=endpoint.id,
            check_run_id=run.id,
            code=draft.code,
            severity=draft.severity.value,
            title=draft.title,
            advice=draft.advice,
            detail=draft.detail,
        )
        for draft in check_run_alerts(previous, report)
    ]
    session.add_all(alerts)
    endpoint.last_check_run_id = run.id
    session.flush()
    for alert in alerts:
        record(
            session,
            SYSTEM,
            "alert.raised",
            "alert",
            alert.id,
            {"code": alert.code, "endpoint_id": endpoint.id, "check_run_id": run.id},
            organisation_id=endpoint.organisation_id,
        )
    return alerts
