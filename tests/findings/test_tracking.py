"""A finding is tracked across runs by its stable key: opened by the first run that shows it,
closed by a later complete run of the same kind and target that does not, reopened when it
returns. A run that could not look closes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from checks.findings import Severity, finding
from checks.report import ReportStatus
from posture.findings.sla import finding_sla, parse_finding_sla
from posture.storage.models import AuditEvent
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import FindingStatus
from tests.findings.scenario import (
    NOTHING_ANSWERED,
    OLD_TLS,
    RSA_SUITE,
    START,
    TARGET,
    cert_finding,
    run_check,
    tracked,
)
from tests.passport.conftest import Db

DAY = timedelta(days=1)


def test_a_fixed_fault_closes_on_the_next_complete_run_and_reopens_when_it_returns(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    first = run_check(sessions, world, [OLD_TLS, RSA_SUITE], START)
    assert len(first.opened) == 2
    opened = {f.code: f for f in tracked(sessions)}
    assert opened["TLS-VER-001"].status == FindingStatus.OPEN
    assert opened["TLS-VER-001"].due_at == START + timedelta(days=finding_sla().days["high"])

    again = run_check(sessions, world, [OLD_TLS, RSA_SUITE], START + DAY)
    assert again.opened == []
    assert sorted(again.seen) == sorted(first.opened)

    fixed = run_check(sessions, world, [RSA_SUITE], START + 2 * DAY)
    assert fixed.resolved == [opened["TLS-VER-001"].id]
    after = {f.code: f for f in tracked(sessions)}
    assert after["TLS-VER-001"].status == FindingStatus.RESOLVED
    assert after["TLS-VER-001"].resolved_at == START + 2 * DAY
    assert after["TLS-SUITE-001"].status == FindingStatus.OPEN

    back = run_check(sessions, world, [OLD_TLS, RSA_SUITE], START + 40 * DAY)
    assert back.reopened == [opened["TLS-VER-001"].id]
    returned = {f.code: f for f in tracked(sessions)}["TLS-VER-001"]
    assert returned.status == FindingStatus.OPEN
    assert returned.reopened_count == 1
    assert returned.resolved_at is None
    # The same fault back keeps its first due date: a brief fix never restarts the SLA clock.
    assert returned.due_at == START + timedelta(days=finding_sla().days["high"])
    assert returned.first_seen_at == START


def test_a_run_that_could_not_look_closes_nothing(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START)
    failed = run_check(
        sessions, world, [NOTHING_ANSWERED], START + DAY, status=ReportStatus.NOT_ASSESSABLE
    )
    assert failed.assessed is False
    assert failed.resolved == []
    # A run that completed but says it could not look (a blocking finding) closes nothing either.
    partial = run_check(sessions, world, [NOTHING_ANSWERED], START + 2 * DAY)
    assert partial.assessed is False
    assert partial.resolved == []
    assert {f.code: f.status for f in tracked(sessions)}["TLS-VER-001"] == FindingStatus.OPEN


def test_a_run_of_another_target_or_kind_leaves_the_finding_alone(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START)
    other_target = run_check(sessions, world, [], START + DAY, target="other.example:443")
    other_kind = run_check(sessions, world, [], START + DAY, kind="ssh", target=TARGET)
    assert other_target.resolved == other_kind.resolved == []
    other_supplier = run_check(sessions, world, [], START + DAY, org="s2")
    assert other_supplier.resolved == []
    assert [f.status for f in tracked(sessions)] == [FindingStatus.OPEN]


def test_each_certificate_is_its_own_finding(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(
        sessions,
        world,
        [cert_finding("CERT-004", "CN=a.example"), cert_finding("CERT-004", "CN=b.example")],
        START,
        kind="cert",
        target="chain.pem",
    )
    run_check(
        sessions,
        world,
        [cert_finding("CERT-004", "CN=b.example")],
        START + DAY,
        kind="cert",
        target="chain.pem",
    )
    found = {f.subject: f.status for f in tracked(sessions)}
    assert found == {
        "certificate leaf: CN=a.example": FindingStatus.RESOLVED,
        "certificate leaf: CN=b.example": FindingStatus.OPEN,
    }


def test_an_older_run_recorded_late_closes_nothing_seen_since(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START + DAY)
    late = run_check(sessions, world, [], START)
    assert late.resolved == []


def test_a_finding_regraded_by_the_catalogue_takes_the_new_severity_and_its_due_date(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], START)
    critical = OLD_TLS.model_copy(update={"severity": Severity.CRITICAL})
    later = run_check(sessions, world, [critical], START + 3 * DAY)
    (finding,) = tracked(sessions)
    assert finding.severity == Severity.CRITICAL
    assert finding.due_at == START + timedelta(days=finding_sla().days["critical"])
    with sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "finding.tracked").order_by(AuditEvent.id)
        ).all()[-1]
    assert event.data["regraded"] == [finding.id]
    assert later.seen == [finding.id]


BROKEN = finding("CBOM-001", algorithm="MD5")


def test_a_supplier_file_that_leaves_a_fault_out_holds_it_open_until_the_platform_sees(
    world_db: Db,
) -> None:
    """A supplier re-sending its own CBOM without the fault is its word, not the platform's
    observation: the finding is held, and closes only on a run by someone outside it."""
    world, sessions, _ = world_db
    supplier = world.users[Role.SUPPLIER_MEMBER]
    cbom = {"kind": "cbom", "target": "cbom.json"}
    first = run_check(sessions, world, [BROKEN], START, requester=supplier, **cbom)
    assert len(first.opened) == 1

    claimed = run_check(sessions, world, [], START + DAY, requester=supplier, **cbom)
    assert claimed.assessed is True
    assert claimed.resolved == []
    assert claimed.held == first.opened
    assert [f.status for f in tracked(sessions)] == [FindingStatus.OPEN]
    with sessions() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "finding.tracked").order_by(AuditEvent.id)
        ).all()
    assert audit[-1].data["held"] == first.opened

    assessor = world.users[Role.NATIONAL_ASSESSOR]
    confirmed = run_check(sessions, world, [], START + 2 * DAY, requester=assessor, **cbom)
    assert confirmed.resolved == first.opened
    assert confirmed.held == []
    assert [f.status for f in tracked(sessions)] == [FindingStatus.RESOLVED]


def test_a_supplier_run_the_platform_observed_closes_what_it_no_longer_shows(
    world_db: Db,
) -> None:
    """A live endpoint or a URL the checker fetched is observed, whoever asked for the run."""
    world, sessions, _ = world_db
    supplier = world.users[Role.SUPPLIER_ADMIN]
    run_check(sessions, world, [OLD_TLS], START, requester=supplier)
    live = run_check(sessions, world, [], START + DAY, requester=supplier)
    assert len(live.resolved) == 1
    assert live.held == []

    published = {"kind": "jwks", "target": "https://login.example/.well-known/jwks.json"}
    weak = finding("JWKS-001", kid="k1")
    run_check(sessions, world, [weak], START, requester=supplier, **published)
    fetched = run_check(sessions, world, [], START + DAY, requester=supplier, **published)
    assert len(fetched.resolved) == 1
    assert fetched.held == []


def test_an_observation_below_the_lowest_tracked_severity_is_never_tracked(world_db: Db) -> None:
    world, sessions, _ = world_db
    good_news = finding("CBOM-005", algorithm="ML-KEM-768")
    assert good_news.severity == Severity.INFO
    result = run_check(sessions, world, [good_news, BROKEN], START, kind="cbom", target="c.json")
    assert len(result.opened) == 1
    assert [f.code for f in tracked(sessions)] == ["CBOM-001"]


def test_an_sla_file_must_cover_every_tracked_severity_and_no_other() -> None:
    base = "version: 1\nlowest_tracked: low\ndays: {critical: 7, high: 30, medium: 90"
    with pytest.raises(ValueError, match="no SLA for low"):
        parse_finding_sla(base + "}\n")
    with pytest.raises(ValueError, match="info is below lowest_tracked"):
        parse_finding_sla(base + ", low: 180, info: 365}\n")
    assert parse_finding_sla(base + ", low: 180}\n").tracks("low")
