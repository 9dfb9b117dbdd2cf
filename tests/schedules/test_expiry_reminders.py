"""The daily expiry sweep reminds once at 30, 7 and 1 days and once on expiry, for certificates
checks saw, certifications, risk acceptances and exceptions, and passports; a second sweep, or
twenty at once, reminds of nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from kernel.settings import Settings
from posture.audit import Actor
from posture.check_requests import CheckRequest
from posture.check_runs import record_check_run
from posture.jobs.checks import run_request
from posture.passport.issue import add_months
from posture.passport.policy import passport_policy
from posture.reminders.sweep import sweep_expiries
from posture.storage.engine import transaction
from posture.storage.models import (
    Alert,
    Answer,
    CheckRun,
    Deployment,
    ExpiryReminder,
    Passport,
    Product,
    RiskAcceptance,
)
from posture.storage.models.enums import Role
from supplier_portal.evidence import add_evidence
from tests.concurrency import in_parallel
from tests.identity.world import World
from tests.passport.conftest import accept_in_full, issue_for
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler
from tests.risk_register.test_treatments import make_scenario

Db = tuple[World, sessionmaker[Session], Settings]
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _sweep(sessions: sessionmaker[Session], now: datetime) -> dict:
    with transaction(sessions) as session:
        return sweep_expiries(session, now).as_dict()


def _alerts(sessions: sessionmaker[Session]) -> list[tuple[str, int, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Alert.code, Alert.organisation_id, Alert.detail).order_by(Alert.id)
        ).all()
    return [(code, organisation_id, detail["reminder"]) for code, organisation_id, detail in rows]


def _certification_expiring(sessions: sessionmaker[Session], product_id: int, on: date) -> None:
    with transaction(sessions) as session:
        product = session.get(Product, product_id)
        assert product is not None
        product.certifications = [{"scheme": "cyber_essentials_plus", "expires": on.isoformat()}]


def test_a_certification_is_reminded_at_each_threshold_once_then_once_expired(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    assert s1.product_id is not None
    _certification_expiring(sessions, s1.product_id, date(2027, 1, 1))
    for day, reminded in (
        (datetime(2026, 11, 1, tzinfo=UTC), []),  # 61 days ahead: nothing yet
        (datetime(2026, 12, 2, tzinfo=UTC), ["30 days"]),
        (datetime(2026, 12, 3, tzinfo=UTC), []),
        (datetime(2026, 12, 26, tzinfo=UTC), ["7 days"]),
        (datetime(2026, 12, 26, 23, tzinfo=UTC), []),
        (datetime(2026, 12, 31, tzinfo=UTC), ["1 days"]),
        (datetime(2027, 1, 1, tzinfo=UTC), ["expired"]),
        (datetime(2027, 1, 5, tzinfo=UTC), []),
    ):
        before = len(_alerts(sessions))
        _sweep(sessions, day)
        raised = _alerts(sessions)[before:]
        assert [r for _, _, r in raised] == reminded, day
        assert all(code == "EXPIRY-CERTIFICATION" for code, _, _ in raised)
        assert all(org == s1.organisation_id for _, org, _ in raised)


def test_a_thing_first_seen_close_to_expiry_gets_only_the_nearest_reminder(world_db: Db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    _certification_expiring(sessions, product_id, NOON.date() + timedelta(days=5))
    report = _sweep(sessions, NOON)
    assert report["reminded"] == {"certification": 1}
    assert [r for _, _, r in _alerts(sessions)] == ["7 days"]


def test_a_renewed_certification_is_reminded_afresh_for_its_new_day(world_db: Db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    _certification_expiring(sessions, product_id, NOON.date() + timedelta(days=20))
    _sweep(sessions, NOON)
    _certification_expiring(sessions, product_id, NOON.date() + timedelta(days=385))
    assert _sweep(sessions, NOON + timedelta(days=1))["reminded"] == {}
    later = NOON + timedelta(days=360)
    assert _sweep(sessions, later)["reminded"] == {"certification": 1}


def test_a_certificate_a_tls_check_saw_is_reminded_to_the_supplier_and_its_deployers(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, _ = world_db
    s1, f1 = world.orgs["s1"], world.orgs["f1"]
    assert s1.product_id is not None
    cert, key = make_certificate(tmp_path, days=20)
    with LoopbackServer(pyopenssl_handler(cert, key)) as server:
        request = CheckRequest(kind="tls", target=f"127.0.0.1:{server.port}")
        report = run_request(request, EgressPolicy.from_cidrs(("127.0.0.0/8",)), None)
    with transaction(sessions) as session:
        run = record_check_run(session, Actor("cli"), report, s1.organisation_id, s1.product_id)
        session.add(Deployment(organisation_id=f1.organisation_id, product_id=s1.product_id))
        run_id = run.id
    with sessions() as session:
        stored = session.get(CheckRun, run_id)
        assert stored is not None
        assert stored.certificate_not_after is not None
        days_left = (stored.certificate_not_after.date() - datetime.now(UTC).date()).days
    assert days_left in (19, 20)
    _sweep(sessions, datetime.now(UTC))
    raised = _alerts(sessions)
    assert [(code, org) for code, org, _ in raised] == [
        ("EXPIRY-CERTIFICATE", s1.organisation_id),
        ("EXPIRY-CERTIFICATE", f1.organisation_id),  # the deploying force's copy
    ]
    assert {reminder for _, _, reminder in raised} == {"30 days"}


def test_a_failed_check_run_reminds_of_nothing(world_db: Db) -> None:
    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        session.add(
            CheckRun(
                organisation_id=s1.organisation_id,
                product_id=s1.product_id,
                kind="tls",
                target="127.0.0.1:1",
                status="failed",
                certificate_not_after=NOON + timedelta(days=3),
                started_at=NOON,
                finished_at=NOON,
            )
        )
    assert _sweep(sessions, NOON)["reminded"] == {}


def test_an_acceptance_is_reminded_to_its_force_but_its_expiry_is_left_to_the_register(
    world_db: Db,
) -> None:
    world, sessions, _ = world_db
    f1, s1 = world.orgs["f1"], world.orgs["s1"]
    scenario_id = make_scenario(sessions, f1.organisation_id, s1.product_id)
    with transaction(sessions) as session:
        session.add(
            RiskAcceptance(
                scenario_id=scenario_id,
                approver_user_id=world.users[Role.SIRO],
                approver_role="siro",
                rationale="Accepted while the gateway is replaced",
                residual_level="medium",
                expires_on=NOON.date() + timedelta(days=7),
            )
        )
    assert _sweep(sessions, NOON)["reminded"] == {"risk_acceptance": 1}
    assert _alerts(sessions) == [("EXPIRY-RISK-ACCEPTANCE", f1.organisation_id, "7 days")]
    # On the day it expires risk.expire_decisions alerts it; the sweep adds nothing.
    assert _sweep(sessions, NOON + timedelta(days=7))["reminded"] == {}


def test_twenty_sweeps_at_once_remind_once(world_db: Db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    _certification_expiring(sessions, product_id, NOON.date() + timedelta(days=3))
    results = in_parallel(sessions, [lambda s: sweep_expiries(s, NOON).as_dict()] * 20)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(r["reminded"].get("certification", 0) for r in results) == 1  # type: ignore[index]
    with sessions() as session:
        assert len(session.scalars(select(ExpiryReminder)).all()) == 1
    assert len(_alerts(sessions)) == 1


def test_evidence_is_reminded_to_its_supplier_before_the_day_it_stops_holding(
    world_db: Db,
) -> None:
    world, sessions, settings = world_db
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        evidence = add_evidence(
            session,
            world.principal(Role.SUPPLIER_ADMIN),
            settings,
            s1.draft_assessment_id,
            "pentest.txt",
            b"Penetration test summary.\n",
            date.today() + timedelta(days=30),
        )
        evidence_id = evidence.id
    report = _sweep(sessions, datetime.now(UTC))
    assert report["reminded"] == {"evidence": 1}
    ((code, org, reminder),) = _alerts(sessions)
    assert (code, org, reminder) == ("EXPIRY-EVIDENCE", s1.organisation_id, "30 days")
    with sessions() as session:
        (detail,) = session.scalars(select(Alert.detail)).all()
    assert detail["evidence_id"] == evidence_id


def test_every_endpoint_of_a_product_is_reminded_of_its_own_certificate(world_db: Db) -> None:
    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        for port, days in ((443, 20), (8443, 6)):
            session.add(
                CheckRun(
                    organisation_id=s1.organisation_id,
                    product_id=s1.product_id,
                    kind="tls",
                    target=f"vault.example:{port}",
                    status="succeeded",
                    certificate_not_after=NOON + timedelta(days=days),
                    started_at=NOON - timedelta(hours=port % 7),
                    finished_at=NOON - timedelta(hours=port % 7),
                )
            )
    assert _sweep(sessions, NOON)["reminded"] == {"certificate": 2}
    with sessions() as session:
        details = session.scalars(select(Alert.detail).order_by(Alert.id)).all()
    assert sorted((d["target"], d["reminder"]) for d in details) == [
        ("vault.example:443", "30 days"),
        ("vault.example:8443", "7 days"),
    ]


def _accepted_on(sessions: sessionmaker[Session], assessment_id: int) -> date:
    with sessions() as session:
        last = session.scalar(
            select(func.max(Answer.reviewed_at)).where(Answer.assessment_id == assessment_id)
        )
    assert last is not None
    return last.date()


def test_an_accepted_assessment_without_a_passport_is_reminded_when_it_falls_due(
    world_db: Db,
) -> None:
    """Accepted with no passport (here: no keys to issue one): due for renewal one passport
    validity after its last answer was accepted, reminded at each threshold and when due."""
    world, sessions, _ = world_db
    assessment_id = world.orgs["s1"].submitted_assessment_id
    with transaction(sessions) as session:
        accept_in_full(session, world, assessment_id, keys=None)
    due = add_months(
        datetime.combine(_accepted_on(sessions, assessment_id), datetime.min.time(), UTC),
        passport_policy().validity_months,
    ).date()
    assert _sweep(sessions, _noon(due - timedelta(days=31)))["reminded"] == {}
    assert _sweep(sessions, _noon(due - timedelta(days=30)))["reminded"] == {"assessment": 1}
    assert _sweep(sessions, _noon(due))["reminded"] == {"assessment": 1}
    assert _alerts(sessions) == [
        ("EXPIRY-ASSESSMENT", world.orgs["s1"].organisation_id, "30 days"),
        ("EXPIRY-ASSESSMENT", world.orgs["s1"].organisation_id, "expired"),
    ]


def test_a_product_whose_passport_is_in_date_is_reminded_of_the_passport_alone(
    world_db: Db,
) -> None:
    issue_for(world_db)
    _, sessions, _ = world_db
    with sessions() as session:
        expires = session.scalars(select(Passport.expires_at)).one().date()
    report = _sweep(sessions, _noon(expires - timedelta(days=30)))
    assert report["reminded"] == {"passport": 1}
    assert {code for code, _, _ in _alerts(sessions)} == {"EXPIRY-PASSPORT"}


def _noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
