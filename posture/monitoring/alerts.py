"""Store the alerts raised by a monitored endpoint's new check run or by a new snapshot run."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.report import CheckReport
from posture.audit import SYSTEM, Actor, record
from posture.monitoring.changes import (
    BAND_CHANGE,
    band_change_alerts,
    check_run_alerts,
    decision_alert,
)
from posture.storage.models import Alert, CheckRun, MonitoredEndpoint, PostureSnapshot
from posture.storage.models.enums import SubjectKind

if TYPE_CHECKING:
    import pandas as pd


def raise_decision_alert(
    session: Session,
    actor: Actor,
    code: str,
    organisation_id: int,
    product_id: int | None,
    detail: dict[str, Any],
) -> Alert:
    """Store the alert a decision raises (worded by the monitoring policy) and audit it."""
    draft = decision_alert(code, detail)
    alert = Alert(
        organisation_id=organisation_id,
        product_id=product_id,
        code=draft.code,
        severity=draft.severity.value,
        title=draft.title,
        advice=draft.advice,
        detail=draft.detail,
    )
    session.add(alert)
    session.flush()
    record(
        session,
        actor,
        "alert.raised",
        "alert",
        alert.id,
        {"code": alert.code, "product_id": product_id},
        organisation_id=organisation_id,
    )
    return alert


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


def record_band_changes(
    session: Session, taken_at: datetime, framework_version_id: int | None = None
) -> list[Alert]:
    """Alerts for products whose band in the run at `taken_at` differs from the run before it;
    with `framework_version_id`, runs of that framework version only (a CAF run's bands are not
    a change from PTSbD's)."""
    same = (
        [PostureSnapshot.framework_version_id == framework_version_id]
        if framework_version_id is not None
        else []
    )
    previous_at = session.scalar(
        select(func.max(PostureSnapshot.taken_at)).where(
            PostureSnapshot.taken_at < taken_at,
            PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
            *same,
        )
    )
    if previous_at is None:
        return []
    now = _product_bands(session, taken_at, same)
    before = _product_bands(session, previous_at, same).rename(columns={"band": "previous_band"})
    standings = now.merge(before[["product_id", "previous_band"]], on="product_id", how="inner")
    organisation_of = dict(zip(now["product_id"], now["organisation_id"], strict=True))
    alerts = [
        Alert(
            organisation_id=int(organisation_of[product_id]),
            product_id=product_id,
            code=draft.code,
            severity=draft.severity.value,
            title=draft.title,
            advice=draft.advice,
            detail={**draft.detail, "snapshot": taken_at.isoformat()},
        )
        for product_id, draft in band_change_alerts(standings)
    ]
    session.add_all(alerts)
    session.flush()
    # One audit event per organisation keeps a 10,000-product run's trail readable and each
    # supplier's own trail complete.
    by_organisation: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_organisation[alert.organisation_id].append(alert)
    for organisation_id, raised in sorted(by_organisation.items()):
        record(
            session,
            SYSTEM,
            "alert.raised",
            "alert",
            taken_at.isoformat(),
            {
                "code": BAND_CHANGE,
                "alerts": [alert.id for alert in raised],
                "products": [alert.product_id for alert in raised],
            },
            organisation_id=organisation_id,
        )
    return alerts


def _product_bands(session: Session, taken_at: datetime, same: list[Any]) -> pd.DataFrame:
    # pandas only when snapshots are compared, not for every check run this module records.
    import pandas as pd

    query = select(
        PostureSnapshot.product_id, PostureSnapshot.organisation_id, PostureSnapshot.band
    ).where(
        PostureSnapshot.taken_at == taken_at,
        PostureSnapshot.subject_kind == SubjectKind.PRODUCT,
        *same,
    )
    # The driver's plain tuples (ids and a letter need no processing): a run stores one row per
    # product, and SQLAlchemy row objects for 50,000 of them cost more than the query.
    result = session.connection().execute(query)
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    return pd.DataFrame.from_records(rows, columns=["product_id", "organisation_id", "band"])
