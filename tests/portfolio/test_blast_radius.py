"""A product's alert reaches exactly the forces that deploy it now, each with its deployment's
criticality: a real TLS endpoint on loopback loses hybrid ML-KEM key exchange between two
scheduled checks, and the supplier and the two forces that deploy the product are told; a force
that deploys another product, or ended its deployment, is not. Each force acknowledges its own
copy and sees no other force's; an alert the policy keeps to the supplier does not travel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.audit import SYSTEM
from posture.identity.permissions import NotFound, Principal
from posture.jobs.queue import build_queue
from posture.monitoring.alerts import raise_decision_alert, record_band_changes
from posture.monitoring.changes import PROFILE_RETARGETED
from posture.monitoring.endpoints import EndpointForm, queue_due_checks, register_endpoint
from posture.monitoring.inbox import acknowledge_alert, alert_table, open_alert_count
from posture.portfolio.blast_radius import relay_to_deployers
from posture.portfolio.deployments import end_deployment, put_deployment
from posture.portfolio.details import PortfolioDetails
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent
from posture.storage.models.enums import Role
from tests.dashboards.conftest import EARLIER, LATER, add_snapshots, snapshot_row
from tests.identity.world import World, add_force
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler
from tests.risk_register.listing import list_product

Db = tuple[World, sessionmaker[Session], Settings]


def _org(principal: Principal) -> int:
    return principal.memberships[0].organisation_id


@pytest.fixture
def estate(world_db: Db) -> tuple[World, sessionmaker[Session], dict[str, Principal]]:
    """f1 deploys s1's product as mission critical, f2 deploys it with no tier declared, f3
    deploys s2's product, f4 deployed s1's product and ended it."""
    world, sessions, _ = world_db
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    with transaction(sessions) as session:
        list_product(session, s1)
        list_product(session, s2)
        sirs = {"f1": world.principal(Role.SIRO)}
        sirs.update({slug: add_force(session, slug) for slug in ("f2", "f3", "f4")})
        critical = PortfolioDetails(criticality="mission-critical")
        put_deployment(session, sirs["f1"], _org(sirs["f1"]), s1, None, critical)
        put_deployment(session, sirs["f2"], _org(sirs["f2"]), s1)
        put_deployment(session, sirs["f3"], _org(sirs["f3"]), s2)
        put_deployment(session, sirs["f4"], _org(sirs["f4"]), s1)
        end_deployment(session, sirs["f4"], _org(sirs["f4"]), s1)
    return world, sessions, sirs


def test_losing_pq_key_exchange_alerts_exactly_the_forces_that_deploy_the_product(
    world_db: Db, estate, tmp_path: Path
) -> None:
    world, sessions, sirs = estate
    _, _, settings = world_db
    product_id = world.orgs["s1"].product_id
    queue = build_queue(
        settings.model_copy(update={"queue_immediate": True, "egress_allow": ["127.0.0.0/8"]})
    )
    cert, key = make_certificate(tmp_path)
    serving = [pyopenssl_handler(cert, key, "X25519MLKEM768:X25519")]
    now = utcnow()
    with LoopbackServer(lambda sock: serving[0](sock)) as server:
        with transaction(sessions) as session:
            form = EndpointForm(kind="tls", target=f"127.0.0.1:{server.port}")
            register_endpoint(session, world.principal(Role.SUPPLIER_MEMBER), product_id, form, now)
        assert len(queue_due_checks(sessions, queue.run_check, now)) == 1
        serving[0] = pyopenssl_handler(cert, key, "X25519")
        assert len(queue_due_checks(sessions, queue.run_check, now + timedelta(days=7))) == 1

    with sessions() as session:
        alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
        original, *copies = alerts
        assert (original.code, original.organisation_id) == (
            "MON-PQ-LOST",
            world.orgs["s1"].organisation_id,
        )
        assert sorted(c.organisation_id for c in copies) == [
            _org(sirs["f1"]),
            _org(sirs["f2"]),
        ]
        by_force = {c.organisation_id: c for c in copies}
        f1_copy, f2_copy = by_force[_org(sirs["f1"])], by_force[_org(sirs["f2"])]
        assert f1_copy.detail["criticality"] == "mission-critical"
        assert f1_copy.relayed_from_id == original.id
        assert f1_copy.detail["findings_now"] == ["PQC-TLS-001"]
        # Undeclared weighs as the most critical tier, and says so.
        assert f2_copy.detail["criticality"] is None
        assert f2_copy.detail["criticality_label"] == "Mission critical (undeclared)"
        assert {(c.code, c.severity, c.product_id) for c in copies} == {
            ("MON-PQ-LOST", "high", product_id)
        }
        relayed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.relayed")
        ).all()
        assert sorted(e.organisation_id for e in relayed) == sorted(by_force)

        # Each force's inbox holds its own copy, with its criticality, and no other's.
        for slug in ("f1", "f2", "f3"):
            table = alert_table(session, sirs[slug])
            expected = [] if slug == "f3" else ["MON-PQ-LOST"]
            assert table["code"].tolist() == expected, slug
        assert "Mission critical" in alert_table(session, sirs["f1"])["detail"].iloc[0]

    with transaction(sessions) as session:
        acknowledge_alert(session, sirs["f1"], f1_copy.id, utcnow(), "Supplier contacted")
    with sessions() as session:
        assert alert_table(session, sirs["f1"]).empty
        assert alert_table(session, sirs["f2"])["code"].tolist() == ["MON-PQ-LOST"]
        supplier_view = alert_table(session, world.principal(Role.SUPPLIER_ADMIN))
        assert supplier_view["code"].tolist() == ["MON-PQ-LOST"]


def test_a_band_change_travels_and_a_supplier_only_alert_does_not(estate) -> None:
    world, sessions, sirs = estate
    with transaction(sessions) as session:
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", EARLIER, 70.0, "B", A=70.0, B=70.0),
                snapshot_row(world, "s1", LATER, 55.5, "C", A=40.0, B=71.0),
            ],
        )
        band = record_band_changes(session, LATER)
        ids = relay_to_deployers(session, band)
        copies = session.scalars(select(Alert).where(Alert.id.in_(ids))).all()
        assert sorted(c.organisation_id for c in copies) == sorted(
            [_org(sirs["f1"]), _org(sirs["f2"])]
        )
        assert {c.detail["before"] + c.detail["now"] for c in copies} == {"BC"}
        assert {c.relayed_from_id for c in copies} == {band[0].id}
        # Relayed again (a rerun), no force gets a second copy; a copy is never relayed on.
        assert relay_to_deployers(session, band) == []
        assert relay_to_deployers(session, copies) == []
        retargeted = raise_decision_alert(
            session,
            SYSTEM,
            PROFILE_RETARGETED,
            world.orgs["s1"].organisation_id,
            world.orgs["s1"].product_id,
            {"before": "supplier-saas", "now": "supplier-critical-national"},
        )
        assert relay_to_deployers(session, [retargeted]) == []


def test_no_one_outside_a_force_sees_or_acknowledges_its_copy(estate) -> None:
    """Which forces deploy a product is each force's own: estate-wide readers (a national
    assessor, a force assessor through the dashboards' reach) see the product's alert, never
    the forces' copies, and cannot acknowledge one."""
    world, sessions, sirs = estate
    with transaction(sessions) as session:
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", EARLIER, 70.0, "B", A=70.0, B=70.0),
                snapshot_row(world, "s1", LATER, 55.5, "C", A=40.0, B=71.0),
            ],
        )
        (band,) = record_band_changes(session, LATER)
        ids = relay_to_deployers(session, band_alerts := [band])
    assert len(ids) == 2
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        f1_copy, f2_copy = (
            session.scalar(select(Alert.id).where(Alert.organisation_id == _org(sirs[slug])))
            for slug in ("f1", "f2")
        )
        seen = alert_table(session, national, "posture.dashboard")
        assert seen["id"].tolist() == [band_alerts[0].id]
        assert open_alert_count(session, national, "posture.dashboard") == 1
        # f1's assessor reaches every organisation's alerts on the dashboards, but of the
        # copies only its own force's.
        f1_reader = world.principal(Role.FORCE_ASSESSOR)
        seen = alert_table(session, f1_reader, "posture.dashboard")
        assert sorted(seen["id"]) == sorted([band_alerts[0].id, f1_copy])
        assert open_alert_count(session, f1_reader, "posture.dashboard") == 2
        # A force's own copy names the product's supplier, not the force.
        (own,) = alert_table(session, sirs["f1"]).itertuples()
        assert own.supplier == "Organisation s1"
    for outsider in (national, sirs["f1"]):
        with transaction(sessions) as session, pytest.raises(NotFound):
            acknowledge_alert(session, outsider, f2_copy, utcnow(), "not ours")
    with sessions() as session:
        assert session.get(Alert, f2_copy).acknowledged_at is None
