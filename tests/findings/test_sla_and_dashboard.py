"""Age and SLA breach: the dashboard counts open findings by age bucket and severity in the
database, scoped to who asks; a finding past its due date raises one alert, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from posture.findings.sweeps import SLA_BREACHED, sla_breaches_due
from posture.findings.views import finding_summary
from posture.monitoring.inbox import alert_table
from posture.storage.engine import transaction
from posture.storage.models import Alert
from posture.storage.models.enums import Role
from tests.findings.scenario import OLD_TLS, RSA_SUITE, START, cert_finding, run_check
from tests.passport.conftest import Db


def test_open_findings_are_counted_by_age_and_severity_for_whoever_may_see_them(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START - timedelta(days=200))
    run_check(sessions, world, [OLD_TLS, RSA_SUITE], START - timedelta(days=100))
    run_check(
        sessions,
        world,
        [cert_finding("CERT-004", "CN=s2")],
        START,
        org="s2",
        kind="cert",
        target="s2.pem",
    )
    now = START + timedelta(days=10)
    with sessions() as session:
        national = finding_summary(session, world.principal(Role.NATIONAL_ASSESSOR), now)
        s1 = finding_summary(session, world.principal(Role.SUPPLIER_ADMIN), now)
        s2 = finding_summary(session, world.principal(Role.SUPPLIER_ADMIN, "s2"), now)
    cells = {(c.bucket, c.severity): (c.open, c.breached) for c in national.counts if c.open}
    assert cells == {
        ("over 180 days", "high"): (1, 1),
        ("91-180 days", "medium"): (1, 1),
        ("0-30 days", "low"): (1, 0),
    }
    assert (national.open, national.breached) == (3, 2)
    assert (s1.open, s1.breached) == (2, 2)
    assert (s2.open, s2.breached) == (1, 0)
    # Every bucket and severity is listed, zeros included, so a chart keeps its shape.
    assert len(national.counts) == 4 * 5


def test_a_breach_raises_one_alert_the_first_time_only(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS, RSA_SUITE], START)
    # High is due in 30 days, medium in 90: at day 31 only the high one is late.
    with transaction(sessions) as session:
        first = sla_breaches_due(session, START + timedelta(days=31))
        assert [(a.code, a.detail["code"]) for a in first] == [(SLA_BREACHED, "TLS-VER-001")]
        assert first[0].organisation_id == world.orgs["s1"].organisation_id
        assert "past the date" in first[0].title
        finding_id = first[0].detail["finding_id"]
    with transaction(sessions) as session:
        assert sla_breaches_due(session, START + timedelta(days=32)) == []
        later = sla_breaches_due(session, START + timedelta(days=91))
        assert [a.detail["code"] for a in later] == ["TLS-SUITE-001"]
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Alert.code == SLA_BREACHED)) == 2
        # The inbox says which finding each breach is about, and the day it was due.
        listed = alert_table(session, world.principal(Role.SUPPLIER_ADMIN))
    due = (START + timedelta(days=30)).date().isoformat()
    assert f"finding #{finding_id} TLS-VER-001, due {due}" in listed["detail"].tolist()


def test_a_fixed_finding_raises_no_breach(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START)
    run_check(sessions, world, [], START + timedelta(days=2))
    with transaction(sessions) as session:
        assert sla_breaches_due(session, START + timedelta(days=400)) == []
