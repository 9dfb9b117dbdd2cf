"""A passport stops being valid the moment what it states stops holding: a real TLS endpoint on
loopback loses hybrid ML-KEM key exchange under monitoring and the passport citing its check is
suspended, the supplier and every force deploying the product (the relying one among them)
alerted; a critical finding suspends it; an exception it states expiring revokes it. National
assessors suspend, reinstate and revoke by hand, one decision at a time."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.certificate_file import run_certificate_check
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import SYSTEM, verify_chain
from posture.check_runs import record_check_run
from posture.identity.permissions import PermissionDenied, Principal
from posture.jobs.queue import build_queue
from posture.monitoring.endpoints import EndpointForm, queue_due_checks, register_endpoint
from posture.passport.registry import decide, revocation_list, verify_here
from posture.passport.reliance import rely_on_passport
from posture.passport.watch import after_check_run, after_exceptions_ended
from posture.portfolio.deployments import put_deployment
from posture.risk.expiry import expire_decisions
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent, OutcomeException, Passport
from posture.storage.models.enums import PassportStatus, Role
from tests.concurrency import in_parallel
from tests.identity.world import add_force
from tests.passport.conftest import Db, Issued, issue_for
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler
from tests.risk_register.listing import list_product


def _org(principal: Principal) -> int:
    return principal.memberships[0].organisation_id


def _deployers(db: Db) -> dict[str, Principal]:
    """f1 and f2 deploy s1's product; f3 deploys s2's."""
    world, sessions, _ = db
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    with transaction(sessions) as session:
        list_product(session, s1)
        list_product(session, s2)
        forces = {"f1": world.principal(Role.SIRO)}
        forces.update({slug: add_force(session, slug) for slug in ("f2", "f3")})
        put_deployment(session, forces["f1"], _org(forces["f1"]), s1)
        put_deployment(session, forces["f2"], _org(forces["f2"]), s1)
        put_deployment(session, forces["f3"], _org(forces["f3"]), s2)
    return forces


def _exception(session: Session, siro: Principal, product_id: int, until: date) -> int:
    """The force's exception for B2.c of the product, until `until` (as its SIRO grants one)."""
    exception = OutcomeException(
        organisation_id=_org(siro),
        product_id=product_id,
        framework_id="ptsbd",
        outcome_id="B2.c",
        compensating_controls="Access only from force-managed devices on the PSN.",
        rationale="MFA arrives in the next release.",
        approver_user_id=siro.user_id,
        expires_on=until,
    )
    session.add(exception)
    session.flush()
    return exception.id


def _passport(session: Session, number: str) -> Passport:
    return session.scalars(select(Passport).where(Passport.number == number)).one()


def test_monitoring_a_lost_pq_key_exchange_suspends_the_passport_and_alerts_relying_forces(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, settings = world_db
    forces = _deployers(world_db)
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
        issued = issue_for(world_db)
        cited = json.loads(issued.document)["passport"]["check_runs"]
        assert [run["target"] for run in cited] == [f"127.0.0.1:{server.port}"]
        with transaction(sessions) as session:
            rely_on_passport(session, forces["f1"], _org(forces["f1"]), product_id, issued.number)
            assert verify_here(session, issued.keys.public(), issued.document).valid
        serving[0] = pyopenssl_handler(cert, key, "X25519")
        assert len(queue_due_checks(sessions, queue.run_check, now + timedelta(days=7))) == 1

    with sessions() as session:
        passport = _passport(session, issued.number)
        verdict = verify_here(session, issued.keys.public(), issued.document)
        alerts = session.scalars(
            select(Alert).where(Alert.code == "PASSPORT-SUSPENDED").order_by(Alert.id)
        ).all()
        listed = json.loads(revocation_list(session, issued.keys))["revocations"]["entries"]
        suspended = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "passport.suspended")
        ).all()
        assert verify_chain(session).intact
    assert (passport.status, passport.status_reason) == (PassportStatus.SUSPENDED, "contradicted")
    assert passport.status_detail["alert"] == "MON-PQ-LOST"
    assert passport.status_detail["cited_check_run_id"] == cited[0]["id"]
    assert verdict.state == "suspended"
    assert [(e["number"], e["status"]) for e in listed] == [(issued.number, "suspended")]
    original, *copies = alerts
    assert original.organisation_id == world.orgs["s1"].organisation_id
    assert sorted(c.organisation_id for c in copies) == sorted(
        [_org(forces["f1"]), _org(forces["f2"])]
    )
    assert all(c.detail["passport"] == issued.number for c in copies)
    assert len(suspended) == 1


def test_a_critical_finding_suspends_the_passport(issued: Issued, tmp_path: Path) -> None:
    s1 = issued.world.orgs["s1"]
    cert, _key = make_certificate(tmp_path, expired=True)
    report = run_certificate_check(cert.read_bytes(), "vault-cert.pem")
    assert "CERT-001" in {f.code for f in report.findings}
    with transaction(issued.sessions) as session:
        run = record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
        assert after_check_run(session, run) == [issued.number]
        # A second run finds the passport suspended already: nothing more happens.
        again = record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
        assert after_check_run(session, again) == []
    with issued.sessions() as session:
        passport = _passport(session, issued.number)
        assert (passport.status_reason, passport.status_detail["finding"]) == (
            "critical_finding",
            "CERT-001",
        )


def test_a_clean_run_and_another_products_run_leave_the_passport_valid(
    issued: Issued, tmp_path: Path
) -> None:
    world = issued.world
    cert, _key = make_certificate(tmp_path, days=200)
    report = run_certificate_check(cert.read_bytes(), "vault-cert.pem")
    (tmp_path / "other").mkdir()
    expired, _ = make_certificate(tmp_path / "other", expired=True)
    bad = run_certificate_check(expired.read_bytes(), "other.pem")
    s1, s2 = world.orgs["s1"], world.orgs["s2"]
    with transaction(issued.sessions) as session:
        clean = record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
        other = record_check_run(session, SYSTEM, bad, s2.organisation_id, s2.product_id)
        assert after_check_run(session, clean) == []
        assert after_check_run(session, other) == []
        assert _passport(session, issued.number).status == PassportStatus.ISSUED


def test_an_exception_the_passport_states_expiring_revokes_it(world_db: Db) -> None:
    world, sessions, _ = world_db
    forces = _deployers(world_db)
    s1 = world.orgs["s1"]
    today = utcnow().date()
    with transaction(sessions) as session:
        exception_id = _exception(session, forces["f1"], s1.product_id, today + timedelta(1))
    issued = issue_for(world_db)
    stated = json.loads(issued.document)["passport"]["exceptions"]
    assert stated == [
        {"framework": "ptsbd", "outcome": "B2.c", "expires_on": (today + timedelta(1)).isoformat()}
    ]
    with transaction(sessions) as session:
        result = expire_decisions(session, today + timedelta(days=1))
        assert exception_id not in result.exceptions  # still in force on its last day
        result = expire_decisions(session, today + timedelta(days=2))
        assert result.exceptions == [exception_id]
        assert after_exceptions_ended(session, result.exceptions, "exception_expired") == [
            issued.number
        ]
    with sessions() as session:
        passport = _passport(session, issued.number)
        revoked_alerts = session.scalars(
            select(Alert.organisation_id).where(Alert.code == "PASSPORT-REVOKED")
        ).all()
    assert (passport.status, passport.status_reason) == (
        PassportStatus.REVOKED,
        "exception_expired",
    )
    assert sorted(revoked_alerts) == sorted(
        [s1.organisation_id, _org(forces["f1"]), _org(forces["f2"])]
    )


def test_assessors_suspend_reinstate_and_revoke_and_revoked_is_final(issued: Issued) -> None:
    world = issued.world
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    reason = "The supplier reported a breach of the hosting platform."
    with transaction(issued.sessions) as session:
        assert decide(session, assessor, issued.number, "suspend", reason).status == "suspended"
        assert decide(session, assessor, issued.number, "reinstate", reason).status == "issued"
        assert decide(session, assessor, issued.number, "revoke", reason).status == "revoked"
    for decision in ("reinstate", "suspend", "revoke"):
        with pytest.raises(ValidationFailed), transaction(issued.sessions) as session:
            decide(session, assessor, issued.number, decision, reason)
    with pytest.raises(ValidationFailed, match="reason"), transaction(issued.sessions) as session:
        decide(session, assessor, issued.number, "suspend", "too short")
    for role in (Role.SUPPLIER_ADMIN, Role.SIRO, Role.PROCUREMENT_OFFICER):
        with pytest.raises(PermissionDenied), transaction(issued.sessions) as session:
            decide(session, world.principal(role), issued.number, "suspend", reason)
    with issued.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "passport")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "passport.issued",
        "passport.suspended",
        "passport.reinstated",
        "passport.revoked",
    ]


def test_twenty_parallel_suspensions_apply_once(issued: Issued) -> None:
    assessor = issued.world.principal(Role.NATIONAL_ASSESSOR)
    reason = "Monitoring shows the service is down; suspending while we ask."
    results = in_parallel(
        issued.sessions,
        [lambda s: decide(s, assessor, issued.number, "suspend", reason)] * 20,
    )
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(done) == 1
    assert len(refused) == 19
    with issued.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "passport.suspended")
        ).all()
        alerts = session.scalars(select(Alert).where(Alert.code == "PASSPORT-SUSPENDED")).all()
    assert len(events) == 1
    assert len(alerts) == 1  # no force deploys the product in this world


def test_an_unknown_passport_is_not_found_for_every_role(issued: Issued) -> None:
    from posture.identity.permissions import NotFound

    with issued.sessions() as session, pytest.raises(NotFound):
        decide(
            session,
            issued.world.principal(Role.NATIONAL_ASSESSOR),
            "PP-0000000000000000",
            "suspend",
            "a reason long enough",
        )


def test_a_revoked_exception_revokes_the_passport_stating_it(world_db: Db) -> None:
    from posture.risk.exceptions import revoke_exception

    world, sessions, _ = world_db
    forces = _deployers(world_db)
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        until = utcnow().date() + timedelta(days=60)
        exception_id = _exception(session, forces["f1"], s1.product_id, until)
    issued = issue_for(world_db)
    with transaction(sessions) as session:
        revoke_exception(session, forces["f1"], exception_id)
    with sessions() as session:
        passport = _passport(session, issued.number)
        assert verify_here(session, issued.keys.public(), issued.document).state == "revoked"
    assert (passport.status, passport.status_reason) == (
        PassportStatus.REVOKED,
        "exception_revoked",
    )


def test_a_run_that_loses_a_race_to_an_assessor_is_still_recorded(
    issued: Issued, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The assessor's decision moved the passport between the hook's read and its write: the
    hook leaves it to that decision and the run (the evidence) is kept."""
    from posture.passport import watch
    from posture.passport.status import StatusRefused

    def raced(*_: object, **__: object) -> bool:
        raise StatusRefused("passport changed meanwhile; reload it")

    monkeypatch.setattr(watch, "change_status", raced)
    s1 = issued.world.orgs["s1"]
    cert, _key = make_certificate(tmp_path, expired=True)
    report = run_certificate_check(cert.read_bytes(), "vault-cert.pem")
    with transaction(issued.sessions) as session:
        run = record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
        assert after_check_run(session, run) == []
        run_id = run.id
    with issued.sessions() as session:
        from posture.storage.models import CheckRun

        assert session.get(CheckRun, run_id) is not None


def test_a_run_recorded_from_the_command_line_that_loses_pq_suspends_the_passport(
    world_db: Db, tmp_path: Path
) -> None:
    """No monitored endpoint: two runs recorded with `assure check tls --record`, the passport
    issued between them; the second contradicts the run the passport cites."""
    from tests.cli import assure, cli_env

    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    env = cli_env(settings.data_dir) | {"ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}
    cert, key = make_certificate(tmp_path)
    serving = [pyopenssl_handler(cert, key, "X25519MLKEM768:X25519")]
    with LoopbackServer(lambda sock: serving[0](sock)) as server:
        target = f"127.0.0.1:{server.port}"
        first = assure("check", "tls", target, "--record", f"product:{product_id}", env=env)
        assert "recorded as check run" in first.stdout, first.stderr
        issued = issue_for(world_db)
        serving[0] = pyopenssl_handler(cert, key, "X25519")
        second = assure("check", "tls", target, "--record", f"product:{product_id}", env=env)
        assert "recorded as check run" in second.stdout, second.stderr
    with sessions() as session:
        passport = _passport(session, issued.number)
    assert (passport.status, passport.status_reason) == (PassportStatus.SUSPENDED, "contradicted")
    assert passport.status_detail["alert"] == "MON-PQ-LOST"
