"""Alerts as people see them: a scoped list, newest first, and acknowledgement."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal
from posture.identity.scoped import load_visible, within_reach
from posture.storage.models import Alert, Organisation, Product

ALERT_COLUMNS = [
    "id",
    "raised_at",
    "severity",
    "code",
    "title",
    "product",
    "supplier",
    "detail",
    "acknowledged_at",
]


def alert_table(
    session: Session,
    principal: Principal,
    permission: str = "check.read",
    *,
    include_acknowledged: bool = False,
    product_id: int | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """The alerts `principal` may see under `permission`, newest first."""
    query = (
        select(
            Alert.id,
            Alert.raised_at,
            Alert.severity,
            Alert.code,
            Alert.title,
            Product.name,
            Organisation.name,
            Alert.detail,
            Alert.acknowledged_at,
        )
        .outerjoin(Product, Product.id == Alert.product_id)
        # The product's supplier, also on a force's copy of its alert (held by the force).
        .join(
            Organisation,
            Organisation.id == func.coalesce(Product.organisation_id, Alert.organisation_id),
        )
        .where(_copies_held_by_own(principal))
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if not include_acknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    if product_id is not None:
        query = query.where(Alert.product_id == product_id)
    rows = session.execute(within_reach(query, Alert.organisation_id, principal, permission)).all()
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    frame["detail"] = [_summary(detail) for detail in frame["detail"]]
    return frame


def _copies_held_by_own(principal: Principal) -> ColumnElement[bool]:
    """A force's copy of a product's alert is the force's alone: which forces deploy what is
    their own, so an estate-wide reader sees the product's alert, never the forces' copies."""
    return or_(
        Alert.relayed_from_id.is_(None), Alert.organisation_id.in_(principal.organisation_ids())
    )


def open_alert_count(session: Session, principal: Principal, permission: str = "check.read") -> int:
    query = select(func.count(Alert.id)).where(
        Alert.acknowledged_at.is_(None), _copies_held_by_own(principal)
    )
    return int(
        session.scalar(within_reach(query, Alert.organisation_id, principal, permission)) or 0
    )


def _summary(detail: dict[str, object]) -> str:
    said = _change(detail)
    # A copy a force holds of its supplier's alert says how much the product matters to it.
    if detail.get("criticality_label"):
        return (
            f"{detail['criticality_label']} to us: {said}"
            if said
            else str(detail["criticality_label"])
        )
    return said


def _change(detail: dict[str, object]) -> str:
    if "before" in detail and "now" in detail:
        return f"{detail['before']} → {detail['now']}"
    if detail.get("findings_now"):
        return f"{detail.get('target', '')}: {', '.join(map(str, detail['findings_now']))}".strip()
    if "finding_id" in detail:  # an SLA breach: which finding, and the day it was due
        due = str(detail.get("due_at", ""))[:10]
        return f"finding #{detail['finding_id']} {detail.get('code', '')}, due {due}".strip()
    if "expires_on" in detail:  # an expiry reminder: what expires, and when
        what = next(
            (
                str(detail[key])
                for key in ("scheme", "filename", "number", "target", "profile_id")
                if detail.get(key)
            ),
            "",
        )
        return f"{what} expires {detail['expires_on']} ({detail.get('reminder', '')})".strip()
    return ""


def acknowledge_alert(
    session: Session, principal: Principal, alert_id: int, now: datetime, note: str = ""
) -> Alert:
    """Mark an alert seen and dealt with; it leaves the open lists but stays on record."""
    alert = load_visible(session, Alert, alert_id, principal, "alert.acknowledge", "alert")
    if (
        alert.relayed_from_id is not None
        and alert.organisation_id not in principal.organisation_ids()
    ):
        raise NotFound("alert not found")
    if alert.acknowledged_at is not None:
        raise ValidationFailed("alert: already acknowledged")
    note = " ".join(note.split())[:500]
    alert.acknowledged_at, alert.acknowledged_by_user_id = now, principal.user_id
    record(
        session,
        actor_of(principal),
        "alert.acknowledged",
        "alert",
        alert.id,
        {"code": alert.code, "product_id": alert.product_id, "note": note},
        organisation_id=alert.organisation_id,
    )
    return alert
