"""Band changes between snapshot runs are stored as alerts; alerts are scoped and acknowledged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.dashboards import PERMISSION
from posture.identity.permissions import NotFound, PermissionDenied
from posture.monitoring.alerts import record_band_changes
from posture.monitoring.inbox import acknowledge_alert, alert_table, open_alert_count
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent
from posture.storage.models.enums import Role
from tests.dashboards.conftest import EARLIER, LATER, Db


@pytest.fixture
def band_alert(snapshots: Db) -> tuple[Db, int]:
    _, sessions, _ = snapshots
    with transaction(sessions) as session:
        (alert,) = record_band_changes(session, LATER)
        alert_id = alert.id
    return snapshots, alert_id


def test_a_band_change_between_runs_is_stored_and_audited(band_alert: tuple[Db, int]) -> None:
    (world, sessions, _), alert_id = band_alert
    with sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.code, alert.product_id, alert.organisation_id) == (
            "MON-BAND-CHANGE",
            world.orgs["s1"].product_id,
            world.orgs["s1"].organisation_id,
        )
        assert (alert.detail["before"], alert.detail["now"]) == ("B", "C")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.raised")).one()
        assert event.organisation_id == world.orgs["s1"].organisation_id
        assert event.data["alerts"] == [alert_id]
    with transaction(sessions) as session:
        # The first run has nothing before it to change from.
        assert record_band_changes(session, EARLIER) == []


def test_alerts_are_seen_only_by_their_tenant_and_the_estate_roles(
    band_alert: tuple[Db, int],
) -> None:
    (world, sessions, _), alert_id = band_alert
    with sessions() as session:
        mine = alert_table(session, world.principal(Role.SUPPLIER_MEMBER))
        assert mine["id"].tolist() == [alert_id]
        assert mine.loc[0, "detail"] == "B → C"
        assert alert_table(session, world.principal(Role.SUPPLIER_MEMBER, "s2")).empty
        assert alert_table(session, world.principal(Role.FORCE_ASSESSOR)).empty
        estate = alert_table(session, world.principal(Role.FORCE_ASSESSOR), PERMISSION)
        assert estate["id"].tolist() == [alert_id]
        with pytest.raises(PermissionDenied):
            alert_table(session, world.principal(Role.PROCUREMENT_OFFICER), PERMISSION)


def test_acknowledging_closes_an_alert_once_and_is_audited(band_alert: tuple[Db, int]) -> None:
    (world, sessions, _), alert_id = band_alert
    now = utcnow()
    refusals = [
        (world.principal(Role.SUPPLIER_MEMBER, "s2"), NotFound),
        (world.principal(Role.FORCE_ASSESSOR), PermissionDenied),
        (world.principal(Role.PROCUREMENT_OFFICER), PermissionDenied),
    ]
    for who, refusal in refusals:
        with transaction(sessions) as session, pytest.raises(refusal):
            acknowledge_alert(session, who, alert_id, now)
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    with sessions() as session:
        assert open_alert_count(session, supplier) == 1
    with transaction(sessions) as session:
        acknowledge_alert(session, supplier, alert_id, now, "  reviewed   with the assessor ")
    with transaction(sessions) as session, pytest.raises(ValidationFailed, match="already"):
        acknowledge_alert(session, supplier, alert_id, now + timedelta(minutes=1))
    with sessions() as session:
        assert open_alert_count(session, supplier) == 0
        assert alert_table(session, supplier).empty
        kept = alert_table(session, supplier, include_acknowledged=True)
        assert kept["acknowledged_at"].tolist() == [now]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.acknowledged")
        ).all()
        assert [(e.actor_user_id, e.shown_data["note"]) for e in events] == [
            (supplier.user_id, "reviewed with the assessor")
        ]
