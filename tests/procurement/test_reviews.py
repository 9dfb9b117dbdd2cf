"""The assessors' review queue: contradictions first; accept, query or reject each answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.framework_registry import register_framework
from posture.identity.permissions import Membership, PermissionDenied, Principal
from posture.scoring.service import explain_entity
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, AuditEvent, CheckRun, Finding, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal.reviews import queries_for_supplier, review_answer, review_queue
from tests.procurement.conftest import TODAY

WHEN = datetime(2026, 11, 24, 9, tzinfo=UTC)


@pytest.fixture
def submitted(pw):
    """A new submitted assessment of s1's product claiming C3.b, contradicted by a TLS check."""
    with transaction(pw.sessions) as session:
        assessor = User(email="assessor@npcc.police.uk", display_name="Assessor")
        session.add(assessor)
        session.flush()
        session.add(
            MembershipRow(
                user_id=assessor.id,
                organisation_id=pw.orgs["home-office"],
                role=Role.NATIONAL_ASSESSOR,
            )
        )
        loaded = default_framework()
        assessment = Assessment(
            organisation_id=pw.orgs["s1"],
            product_id=pw.products["vault"],
            framework_version_id=register_framework(session, loaded).id,
            profile_id="supplier-saas",
            status="submitted",
            version=2,
            created_at=WHEN,
            submitted_at=WHEN,
        )
        session.add(assessment)
        session.flush()
        for outcome_id in ("A1.a", "C3.b"):
            outcome = loaded.framework.outcome(outcome_id)
            met = [
                i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved
            ]
            session.add(
                Answer(
                    assessment_id=assessment.id,
                    outcome_id=outcome_id,
                    indicators_met=met,
                    provenance="self_asserted",
                    answered_at=WHEN,
                )
            )
        run = CheckRun(
            organisation_id=pw.orgs["s1"],
            product_id=pw.products["vault"],
            kind="tls",
            target="vault.example:443",
            status="succeeded",
            score=10,
            created_at=WHEN,
            started_at=WHEN,
            finished_at=WHEN,
        )
        session.add(run)
        session.flush()
        session.add(
            Finding(
                check_run_id=run.id,
                code="PQC-TLS-001",
                severity="high",
                title="No post-quantum key exchange",
                outcome_ids=["C3.b"],
            )
        )
        reviewer = Principal(
            assessor.id,
            assessor.email,
            (Membership(pw.orgs["home-office"], Role.NATIONAL_ASSESSOR),),
        )
        return reviewer, assessment.id


def _answer(pw, assessment_id: int, outcome_id: str) -> int:
    with pw.sessions() as session:
        return session.scalar(
            select(Answer.id).where(
                Answer.assessment_id == assessment_id, Answer.outcome_id == outcome_id
            )
        )


def test_contradicted_claims_come_first(pw, submitted) -> None:
    reviewer, assessment_id = submitted
    with pw.sessions() as session:
        queue = review_queue(session, reviewer, TODAY).items
    mine = [item for item in queue if item.assessment_id == assessment_id]
    assert [(i.outcome_id, i.contradicted) for i in mine] == [("C3.b", True), ("A1.a", False)]
    assert mine[0].claimed == "achieved"


def test_accepting_makes_the_answer_independently_assessed(pw, submitted) -> None:
    reviewer, assessment_id = submitted
    answer_id = _answer(pw, assessment_id, "A1.a")
    with transaction(pw.sessions) as session:
        review_answer(session, reviewer, answer_id, "accept")
    with pw.sessions() as session:
        answer = session.get(Answer, answer_id)
        assert answer.provenance == "independent"
        assert session.get(Assessment, assessment_id).status == "under_review"
        report = explain_entity(session, f"product:{pw.products['vault']}", TODAY)
    assert (
        next(o for o in report["outcomes"] if o["outcome"] == "A1.a")["provenance"] == "independent"
    )


def test_a_query_needs_a_message_and_reaches_the_supplier(pw, submitted) -> None:
    reviewer, assessment_id = submitted
    answer_id = _answer(pw, assessment_id, "C3.b")
    with pw.sessions() as session, pytest.raises(ValidationFailed, match="tell the supplier"):
        review_answer(session, reviewer, answer_id, "query", "why?")
    with transaction(pw.sessions) as session:
        review_answer(
            session,
            reviewer,
            answer_id,
            "query",
            "Your TLS endpoint offers no hybrid group; send evidence of the change.",
        )
    with pw.sessions() as session:
        queried = queries_for_supplier(session, pw.people["a1"])
        other = queries_for_supplier(session, pw.people["a2"])
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "review.queried")
        ).all()
    assert [a.outcome_id for a in queried] == ["C3.b"]
    assert "hybrid group" in queried[0].review_message
    assert other == []
    assert audited == ["review.queried"]


def test_a_rejected_answer_stops_counting(pw, submitted) -> None:
    reviewer, assessment_id = submitted
    answer_id = _answer(pw, assessment_id, "A1.a")
    with transaction(pw.sessions) as session:
        review_answer(
            session,
            reviewer,
            answer_id,
            "reject",
            "The board minutes provided do not show security reviews.",
        )
    with pw.sessions() as session:
        report = explain_entity(session, f"product:{pw.products['vault']}", TODAY)
    outcome = next(o for o in report["outcomes"] if o["outcome"] == "A1.a")
    assert outcome["status"] == "not achieved"
    assert outcome["rule"].startswith("no answer")


def test_accepting_every_answer_accepts_the_assessment(pw, submitted) -> None:
    reviewer, assessment_id = submitted
    with transaction(pw.sessions) as session:
        for outcome in ("A1.a", "C3.b"):
            review_answer(session, reviewer, _answer(pw, assessment_id, outcome), "accept")
    with pw.sessions() as session:
        assert session.get(Assessment, assessment_id).status == "accepted"


def test_suppliers_cannot_review(pw, submitted) -> None:
    _, assessment_id = submitted
    with pw.sessions() as session, pytest.raises(PermissionDenied):
        review_answer(session, pw.people["a1"], _answer(pw, assessment_id, "A1.a"), "accept")
