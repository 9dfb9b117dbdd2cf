"""Review decisions are never lost: parallel decisions on one assessment all count and leave it
ACCEPTED exactly when every answer is accepted; a second decision on an answer is refused."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.audit import verify_chain
from posture.framework_registry import register_framework
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.scoring.tables import framework_tables
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, AuditEvent
from posture.storage.models.enums import Role
from supplier_portal.reviews import AlreadyDecided, review_answer
from tests.concurrency import in_parallel
from tests.identity.world import WHEN, World, build_world

THREADS = 20


@dataclass(frozen=True)
class Submitted:
    world: World
    assessor: Principal
    assessment_id: int
    answer_ids: list[int]


def _twenty_answers(session: Session, world: World) -> tuple[int, list[int]]:
    """A submitted assessment of s1's product with 20 unreviewed answers."""
    loaded = default_framework()
    tables = framework_tables(loaded)
    in_scope = [
        outcome_id
        for index, outcome_id in enumerate(tables.outcome_ids)
        if tables.targets["supplier-saas"][index] >= 0
    ][:THREADS]
    assert len(in_scope) == THREADS
    s1 = world.orgs["s1"]
    assessment = Assessment(
        organisation_id=s1.organisation_id,
        product_id=s1.product_id,
        framework_version_id=register_framework(session, loaded).id,
        profile_id="supplier-saas",
        status="submitted",
        version=7,
        created_at=WHEN,
        submitted_at=WHEN,
    )
    session.add(assessment)
    session.flush()
    answers = [
        Answer(
            assessment_id=assessment.id,
            outcome_id=outcome_id,
            indicators_met=[],
            provenance="self_asserted",
            answered_at=WHEN,
        )
        for outcome_id in in_scope
    ]
    session.add_all(answers)
    session.flush()
    return assessment.id, [a.id for a in answers]


@pytest.fixture
def submitted(sessions: sessionmaker) -> Submitted:
    with transaction(sessions) as session:
        world = build_world(session)
        assessment_id, answer_ids = _twenty_answers(session, world)
    return Submitted(world, world.principal(Role.NATIONAL_ASSESSOR), assessment_id, answer_ids)


REJECTION = "The evidence does not show it."


def _status_of(call):  # type: ignore[no-untyped-def]
    """The call, answering with the decided answer's status, read in its transaction."""
    return lambda session: call(session).review_status


def _audited(session: Session, answer_ids: list[int]) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.object_type == "answer",
                AuditEvent.action.like("review.%"),
                AuditEvent.object_id.in_([str(a) for a in answer_ids]),
            )
        )
    )


@pytest.mark.parametrize("all_accepted", [True, False])
def test_twenty_parallel_decisions_on_one_assessment_all_count(
    sessions: sessionmaker, submitted: Submitted, all_accepted: bool
) -> None:
    me, ids = submitted.assessor, submitted.answer_ids
    # One answer is queried unless every answer is to be accepted; it is the last one written
    # by index, but the threads may commit in any order.
    decisions = ["accept"] * THREADS if all_accepted else ["accept"] * (THREADS - 1) + ["query"]
    calls = [
        (lambda s, a=a, d=d: review_answer(s, me, a, d, "Please send the evidence for this."))
        for a, d in zip(ids, decisions, strict=True)
    ]
    results = in_parallel(sessions, [_status_of(call) for call in calls])
    assert results == [{"accept": "accepted", "query": "queried"}[d] for d in decisions]
    with sessions() as session:
        statuses = session.scalars(select(Answer.review_status).where(Answer.id.in_(ids))).all()
        status = session.get(Assessment, submitted.assessment_id).status
        audited = _audited(session, ids)
        assert verify_chain(session).intact
    assert sorted(statuses) == sorted(results)
    assert sorted(audited) == sorted(str(a) for a in ids)
    assert status == ("accepted" if all_accepted else "under_review")


def test_parallel_decisions_on_one_answer_have_one_winner(
    sessions: sessionmaker, submitted: Submitted
) -> None:
    me, answer_id = submitted.assessor, submitted.answer_ids[0]
    decisions = ["accept", "query", "reject"] * 7
    calls = [
        (lambda s, d=d: review_answer(s, me, answer_id, d, f"Decision {d}: send the evidence."))
        for d in decisions[:THREADS]
    ]
    results = in_parallel(sessions, [_status_of(call) for call in calls])
    winners = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if not isinstance(r, str)]
    assert len(winners) == 1
    assert len(refusals) == THREADS - 1
    assert all(isinstance(r, AlreadyDecided) for r in refusals), refusals
    assert all("already" in str(r) for r in refusals)
    with sessions() as session:
        answer = session.get(Answer, answer_id)
        assert answer.review_status == winners[0]
        assert _audited(session, [answer_id]) == [str(answer_id)]


def test_two_parallel_decisions_on_one_answer(sessions: sessionmaker, submitted: Submitted) -> None:
    me, answer_id = submitted.assessor, submitted.answer_ids[1]
    results = in_parallel(
        sessions,
        [
            _status_of(lambda s: review_answer(s, me, answer_id, "accept")),
            _status_of(
                lambda s: review_answer(
                    s, me, answer_id, "reject", "The evidence does not show it."
                )
            ),
        ],
    )
    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, AlreadyDecided) for r in results) == 1


def test_a_decided_answer_is_not_overwritten(sessions: sessionmaker, submitted: Submitted) -> None:
    me, answer_id = submitted.assessor, submitted.answer_ids[2]
    with transaction(sessions) as session:
        review_answer(session, me, answer_id, "accept")
    with (
        transaction(sessions) as session,
        pytest.raises(AlreadyDecided, match="already accepted"),
    ):
        review_answer(session, me, answer_id, "reject", "Changed my mind about this one.")
    with sessions() as session:
        answer = session.get(Answer, answer_id)
        assert answer.review_status == "accepted"
        assert answer.provenance == "independent"
        assert _audited(session, [answer_id]) == [str(answer_id)]


def test_refusals_change_nothing(sessions: sessionmaker, submitted: Submitted) -> None:
    world, me, answer_id = submitted.world, submitted.assessor, submitted.answer_ids[3]
    own_answer = None
    with sessions() as session:
        own_answer = session.scalar(
            select(Answer.id).where(
                Answer.assessment_id == world.orgs["n1"].submitted_assessment_id
            )
        )
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    supplier = world.principal(Role.SUPPLIER_ADMIN)
    force = world.principal(Role.FORCE_ASSESSOR)
    narrow = Principal(me.user_id, me.email, me.memberships, frozenset({"assessments:read"}))
    refusals: list[tuple[Principal, int, str, str, type[Exception]]] = [
        (supplier, answer_id, "accept", "", PermissionDenied),
        (force, answer_id, "accept", "", PermissionDenied),
        (narrow, answer_id, "accept", "", PermissionDenied),
        (me, 2_000_000_000, "accept", "", NotFound),
        (me, own_answer, "accept", "", ValidationFailed),
        (me, answer_id, "approve", "", ValidationFailed),
        (me, answer_id, "query", "why?", ValidationFailed),
        (me, answer_id, "reject", "x" * 4_001, ValidationFailed),
    ]
    for who, target, decision, message, refused in refusals:
        with transaction(sessions) as session, pytest.raises(refused):
            review_answer(session, who, target, decision, message)  # type: ignore[arg-type]
    with sessions() as session:
        assert session.get(Answer, answer_id).review_status is None
        assert session.get(Answer, own_answer).review_status is None
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
