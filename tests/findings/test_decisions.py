"""People move a tracked finding: the supplier names an owner and due date and disputes it; an
assessor outside the supplier decides the dispute; a SIRO links a current acceptance. Another
supplier learns nothing (not found), a supplier cannot decide its own dispute, and refusals
change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.findings.decisions import accept_risk, decide_dispute, dispute, set_remediation
from posture.findings.views import disputes_to_decide, finding_summary, product_findings
from posture.identity.permissions import NotFound, PermissionDenied
from posture.risk.acceptances import AcceptanceForm
from posture.risk.acceptances import accept_risk as accept_scenario_risk
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, TrackedFinding
from posture.storage.models.enums import Role
from posture.storage.models.finding_lifecycle import FindingStatus
from tests.concurrency import in_parallel
from tests.findings.scenario import OLD_TLS, START, run_check
from tests.passport.conftest import Db
from tests.risk_register.test_scenarios import deploy, f1
from tests.risk_register.test_treatments import make_scenario

REASON = "The endpoint is a test harness, never reachable from police networks."
NOTE = "Checked the network diagram: the harness is isolated."


@pytest.fixture
def opened(world_db: Db) -> tuple[Db, int]:
    world, sessions, _ = world_db
    result = run_check(sessions, world, [OLD_TLS], START)
    return world_db, result.opened[0]


def _status(db: Db, finding_id: int) -> FindingStatus:
    with db[1]() as session:
        found = session.get(TrackedFinding, finding_id)
        assert found is not None
        return found.status


def _events(db: Db) -> int:
    with db[1]() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_dispute_goes_through_an_assessors_review(opened: tuple[Db, int]) -> None:
    db, finding_id = opened
    world, sessions, _ = db
    with transaction(sessions) as session:
        owner = world.users[Role.SUPPLIER_MEMBER]
        set_remediation(session, world.principal(Role.SUPPLIER_ADMIN), finding_id, owner)
    assert _status(db, finding_id) == FindingStatus.IN_REMEDIATION
    with transaction(sessions) as session:
        dispute(session, world.principal(Role.SUPPLIER_MEMBER), finding_id, REASON)
    assert _status(db, finding_id) == FindingStatus.DISPUTED
    # While disputed it still counts as open, on the product's list and on the dashboard.
    with sessions() as session:
        listed = product_findings(
            session, world.principal(Role.SUPPLIER_ADMIN), world.orgs["s1"].product_id or 0
        )
        assert [row.id for row in listed] == [finding_id]
        assert finding_summary(session, world.principal(Role.NATIONAL_ASSESSOR)).open == 1
        queue = disputes_to_decide(session, world.principal(Role.NATIONAL_ASSESSOR))
        assert [row.dispute_reason for row in queue] == [REASON]
    # A supplier member may not decide; the assessor rejects: back to remediation.
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        decide_dispute(session, world.principal(Role.SUPPLIER_MEMBER), finding_id, True, NOTE)
    with transaction(sessions) as session:
        decide_dispute(session, world.principal(Role.NATIONAL_ASSESSOR), finding_id, False, NOTE)
    assert _status(db, finding_id) == FindingStatus.IN_REMEDIATION
    # Disputed again and upheld: a false positive, no longer open.
    with transaction(sessions) as session:
        dispute(session, world.principal(Role.SUPPLIER_ADMIN), finding_id, REASON)
        decide_dispute(session, world.principal(Role.NATIONAL_ASSESSOR), finding_id, True, NOTE)
    assert _status(db, finding_id) == FindingStatus.FALSE_POSITIVE
    with sessions() as session:
        assert finding_summary(session, world.principal(Role.NATIONAL_ASSESSOR)).open == 0
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "tracked_finding")
        ).all()
    assert actions == [
        "finding.remediation",
        "finding.disputed",
        "finding.dispute_decided",
        "finding.disputed",
        "finding.dispute_decided",
    ]


def test_another_supplier_cannot_see_or_dispute_and_is_told_not_found(
    opened: tuple[Db, int],
) -> None:
    db, finding_id = opened
    world, sessions, _ = db
    before = _events(db)
    s2_admin = world.principal(Role.SUPPLIER_ADMIN, "s2")
    with pytest.raises(NotFound), transaction(sessions) as session:
        dispute(session, s2_admin, finding_id, REASON)
    with pytest.raises(NotFound), transaction(sessions) as session:
        set_remediation(session, s2_admin, finding_id, world.users[Role.SUPPLIER_ADMIN])
    with pytest.raises(NotFound), sessions() as session:
        product_findings(session, s2_admin, world.orgs["s1"].product_id or 0)
    with sessions() as session:
        assert finding_summary(session, s2_admin).open == 0
    assert _status(db, finding_id) == FindingStatus.OPEN
    assert _events(db) == before


def test_a_force_assessor_cannot_decide_a_dispute_even_for_a_product_it_deploys(
    opened: tuple[Db, int],
) -> None:
    # A false positive stops the finding counting for every force: a decision for the estate,
    # so the national assessor's, never one deploying force's.
    db, finding_id = opened
    world, sessions, _ = db
    assessor = world.principal(Role.FORCE_ASSESSOR)
    with transaction(sessions) as session:
        dispute(session, world.principal(Role.SUPPLIER_ADMIN), finding_id, REASON)
    deploy(sessions, f1(world), world.orgs["s1"].product_id or 0)
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        decide_dispute(session, assessor, finding_id, True, NOTE)
    assert _status(db, finding_id) == FindingStatus.DISPUTED


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("x" * 2_001, "reason"),
        ("short", "reason"),
        ("Looks fine\x00 to us really", "control"),
        ("Looks fine \u202e to us really", "control"),
    ],
    ids=["oversized", "too-short", "nul", "bidi"],
)
def test_hostile_dispute_reasons_are_refused_and_change_nothing(
    opened: tuple[Db, int], reason: str, why: str
) -> None:
    db, finding_id = opened
    world, sessions, _ = db
    before = _events(db)
    with pytest.raises(ValidationFailed, match="reason"), transaction(sessions) as session:
        dispute(session, world.principal(Role.SUPPLIER_ADMIN), finding_id, reason)
    assert _status(db, finding_id) == FindingStatus.OPEN
    assert _events(db) == before


def test_unknown_ids_and_outsiders_as_owner_are_refused(opened: tuple[Db, int]) -> None:
    db, finding_id = opened
    world, sessions, _ = db
    admin = world.principal(Role.SUPPLIER_ADMIN)
    for unknown in (0, 2_147_483_647, finding_id + 1):
        with pytest.raises(NotFound), transaction(sessions) as session:
            dispute(session, admin, unknown, REASON)
    with pytest.raises(ValidationFailed, match="owner"), transaction(sessions) as session:
        set_remediation(session, admin, finding_id, world.users[Role.NATIONAL_ASSESSOR])
    with pytest.raises(ValidationFailed, match="due_on"), transaction(sessions) as session:
        set_remediation(
            session, admin, finding_id, world.users[Role.SUPPLIER_ADMIN], date(2099, 1, 1)
        )
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        set_remediation(
            session,
            world.principal(Role.SUPPLIER_MEMBER),
            finding_id,
            world.users[Role.SUPPLIER_ADMIN],
        )
    assert _status(db, finding_id) == FindingStatus.OPEN


def test_twenty_disputes_and_decisions_at_once_leave_one_outcome(opened: tuple[Db, int]) -> None:
    db, finding_id = opened
    world, sessions, _ = db
    admin, assessor = world.principal(Role.SUPPLIER_ADMIN), world.principal(Role.NATIONAL_ASSESSOR)
    results = in_parallel(
        sessions, [lambda s: dispute(s, admin, finding_id, REASON) and "ok" for _ in range(20)]
    )
    assert results.count("ok") == 1
    assert all(isinstance(r, ValidationFailed) for r in results if r != "ok")
    decisions = in_parallel(
        sessions,
        [
            lambda s, uphold=i % 2 == 0: (
                decide_dispute(s, assessor, finding_id, uphold, NOTE)
                and ("upheld" if uphold else "rejected")
            )
            for i in range(20)
        ],
    )
    won = [r for r in decisions if r in ("upheld", "rejected")]
    assert len(won) == 1
    expected = FindingStatus.FALSE_POSITIVE if won == ["upheld"] else FindingStatus.OPEN
    assert _status(db, finding_id) == expected
    with sessions() as session:
        decided = session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "finding.dispute_decided")
        ).all()
    assert len(decided) == 1


def test_a_risk_accepted_finding_counts_open_again_once_the_acceptance_ends(
    opened: tuple[Db, int],
) -> None:
    from posture.findings.sweeps import reopen_ended_acceptances

    db, finding_id = opened
    world, sessions, _ = db
    product_id = world.orgs["s1"].product_id or 0
    deploy(sessions, f1(world), product_id)
    scenario_id = make_scenario(sessions, world.orgs["f1"].organisation_id, product_id)
    siro = world.principal(Role.SIRO)
    today = utcnow().date()
    with transaction(sessions) as session:
        form = AcceptanceForm(
            rationale="The gateway is replaced in the spring; until then it is watched daily.",
            expires_on=today + timedelta(days=30),
        )
        acceptance = accept_scenario_risk(session, siro, scenario_id, form, today)
        acceptance_id = acceptance.id
    # Only a SIRO links it, and only an acceptance of its own force.
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        accept_risk(session, world.principal(Role.SUPPLIER_ADMIN), finding_id, acceptance_id)
    with pytest.raises(NotFound), transaction(sessions) as session:
        accept_risk(session, siro, finding_id, acceptance_id + 1000)
    with transaction(sessions) as session:
        accept_risk(session, siro, finding_id, acceptance_id)
    assert _status(db, finding_id) == FindingStatus.RISK_ACCEPTED
    with sessions() as session:
        # One force's acceptance is about its own deployment: the finding stops counting for
        # that force alone, never for the supplier, another force or the estate.
        assert finding_summary(session, siro).open == 0
        assert finding_summary(session, world.principal(Role.NATIONAL_ASSESSOR)).open == 1
        assert finding_summary(session, world.principal(Role.SUPPLIER_ADMIN)).open == 1
    with transaction(sessions) as session:
        assert reopen_ended_acceptances(session, today) == []
    # The day after its last day it no longer counts: open on the dashboard, then swept open.
    ended = today + timedelta(days=31)
    with transaction(sessions) as session:
        assert reopen_ended_acceptances(session, ended) == [finding_id]
        assert reopen_ended_acceptances(session, ended) == []
    assert _status(db, finding_id) == FindingStatus.OPEN
