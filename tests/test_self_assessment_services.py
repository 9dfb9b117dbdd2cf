"""The self-assessment services behind the guided page: a partial submission needs the number of
unanswered outcomes confirmed (the API's submission is unchanged), evidence names the outcomes it
supports and nothing else, and the assessor's queries name the product they concern."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kernel.errors import ValidationFailed
from kernel.settings import load_settings
from posture.assessment_frameworks import framework_of
from posture.identity.permissions import Membership, NotFound, Principal
from posture.storage.engine import transaction
from posture.storage.models import Assessment, AuditEvent, Evidence, Organisation, Product, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal import assessments, evidence
from supplier_portal.assessment_guide import assessment_progress
from supplier_portal.assessor_queries import open_queries
from supplier_portal.forms import AnswerForm
from supplier_portal.reviews import review_answer
from tests.test_app_portal import _add_product, portal  # noqa: F401  (the fixture)

PDF = b"%PDF-1.7 board minutes naming the security owner"


def _draft(sessions, supplier: Principal, answers: dict[str, list[str]]) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        product_id = session.scalars(select(Product.id).order_by(Product.id)).first()
        organisation_id = supplier.memberships[0].organisation_id
        draft = assessments.start_assessment(session, supplier, organisation_id, product_id)
        for outcome_id, ticked in answers.items():
            form = AnswerForm(outcome_id=outcome_id, indicators_met=ticked)
            assessments.save_answer(session, supplier, draft.id, form)
        return draft.id


def _unanswered(sessions, supplier: Principal, draft_id: int) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        draft = assessments.get_assessment(session, supplier, draft_id)
        loaded = framework_of(session, draft)
        answered = [a.outcome_id for a in assessments.list_answers(session, supplier, draft_id)]
        profile = loaded.profiles[draft.profile_id]
        return len(assessment_progress(loaded.framework, profile, answered).unanswered)


def _submitted_events(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "assessment.submitted")
        )


def test_a_partial_submission_needs_its_gaps_confirmed(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier = people["a1"]
    _add_product(sessions, supplier)
    draft_id = _draft(sessions, supplier, {"A1.a": ["A1.a.A1", "A1.a.A2"]})
    gaps = _unanswered(sessions, supplier, draft_id)
    assert gaps > 1
    for allowed in (0, gaps - 1):
        refused = pytest.raises(ValidationFailed, match=f"{gaps} outcomes in scope are unanswered")
        with refused, transaction(sessions) as session:
            assessments.submit_assessment(session, supplier, draft_id, allow_unanswered=allowed)
    with sessions() as session:
        assert session.get(Assessment, draft_id).status == "draft"
    assert _submitted_events(sessions) == 0
    with transaction(sessions) as session:
        assessments.submit_assessment(session, supplier, draft_id, allow_unanswered=gaps)
    with sessions() as session:
        assert session.get(Assessment, draft_id).status == "submitted"
    assert _submitted_events(sessions) == 1


def test_without_a_limit_a_partial_submission_goes_as_it_always_has(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    draft_id = _draft(sessions, people["a1"], {"A1.a": []})
    with transaction(sessions) as session:
        submitted = assessments.submit_assessment(session, people["a1"], draft_id)
        assert submitted.status == "submitted"


def test_evidence_names_the_outcomes_it_supports_and_only_outcomes_in_scope(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier = people["a1"]
    _add_product(sessions, supplier)
    draft_id = _draft(sessions, supplier, {"A1.a": []})
    settings = load_settings()
    for bad in (["A1.a", "Z9.z"], ["A1.a.A1"], ["<script>"]):
        refused = pytest.raises(ValidationFailed, match="not outcomes in this assessment's scope")
        with refused, transaction(sessions) as session:
            evidence.add_evidence(session, supplier, settings, draft_id, "m.pdf", PDF, outcomes=bad)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Evidence)) == 0
    with transaction(sessions) as session:
        # Given out of order and twice: kept once each, in framework order.
        stored = evidence.add_evidence(
            session, supplier, settings, draft_id, "m.pdf", PDF, outcomes=["A2.a", "A1.a", "A1.a"]
        )
        plain = evidence.add_evidence(session, supplier, settings, draft_id, "n.txt", b"notes")
    with sessions() as session:
        files = evidence.list_evidence(session, supplier, draft_id)
        by_outcome = evidence.evidence_by_outcome(files)
    assert [f.id for f in files] == [stored.id, plain.id]
    assert evidence.supported_outcomes(files[0]) == ["A1.a", "A2.a"]
    assert {k: [f.filename for f in v] for k, v in by_outcome.items()} == {
        "A1.a": ["m.pdf"],
        "A2.a": ["m.pdf"],
    }

    with transaction(sessions) as session:
        evidence.link_evidence(session, supplier, plain.id, ["A1.b"])
    with pytest.raises(ValidationFailed), transaction(sessions) as session:
        evidence.link_evidence(session, supplier, plain.id, ["B9.q"])
    with sessions() as session:
        linked = session.get(Evidence, plain.id)
        assert evidence.supported_outcomes(linked) == ["A1.b"]
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evidence.linked")
        ).one()
        assert event.shown_data["outcomes"] == ["A1.b"]
        assert event.shown_data["before"] == []

    with transaction(sessions) as session:
        assessments.submit_assessment(session, supplier, draft_id)
    refused = pytest.raises(ValidationFailed, match="submitted assessment cannot be changed")
    with refused, transaction(sessions) as session:
        evidence.link_evidence(session, supplier, plain.id, ["A1.a"])


def _second_supplier(sessions) -> Principal:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        org = Organisation(slug="s2", name="Org s2", kind="supplier")
        user = User(email="b1@example.police.uk", display_name="b1")
        session.add_all([org, user])
        session.flush()
        session.add(
            MembershipRow(user_id=user.id, organisation_id=org.id, role=Role.SUPPLIER_ADMIN)
        )
        return Principal(user.id, user.email, (Membership(org.id, Role.SUPPLIER_ADMIN),))


def test_another_supplier_cannot_link_or_see_a_files_outcomes(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    draft_id = _draft(sessions, people["a1"], {})
    with transaction(sessions) as session:
        file = evidence.add_evidence(
            session, people["a1"], load_settings(), draft_id, "m.pdf", PDF, outcomes=["A1.a"]
        )
    other = _second_supplier(sessions)
    with pytest.raises(NotFound), transaction(sessions) as session:
        evidence.link_evidence(session, other, file.id, [])
    with sessions() as session:
        assert evidence.supported_outcomes(session.get(Evidence, file.id)) == ["A1.a"]


def test_a_query_names_its_product_and_version_and_goes_once_superseded(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier, assessor = people["a1"], people["assessor"]
    _add_product(sessions, supplier)
    draft_id = _draft(sessions, supplier, {"A1.a": ["A1.a.A1"], "A1.b": []})
    with transaction(sessions) as session:
        assessments.submit_assessment(session, supplier, draft_id)
        answers = {
            a.outcome_id: a.id for a in assessments.list_answers(session, supplier, draft_id)
        }
        review_answer(session, assessor, answers["A1.a"], "query", "Send the board minutes.")
        review_answer(session, assessor, answers["A1.b"], "accept")
    with sessions() as session:
        (query,) = open_queries(session, supplier)
        assert open_queries(session, _second_supplier(sessions)) == []
    assert (query.subject, query.outcome_id, query.version, query.decision) == (
        "Vault",
        "A1.a",
        1,
        "queried",
    )
    assert (
        query.words() == "The assessor queried A1.a on Vault (version 1): Send the board minutes."
    )
    next_id = _draft(sessions, supplier, {"A1.a": ["A1.a.A1", "A1.a.A2"]})
    with sessions() as session:
        draft = assessments.get_assessment(session, supplier, next_id)
        assert query.concerns(draft, "ptsbd", "A1.a")
        assert not query.concerns(draft, "ptsbd", "A1.b")
        assert not query.concerns(draft, "ncsc-caf", "A1.a")
    with transaction(sessions) as session:
        assessments.submit_assessment(session, supplier, next_id)
    with sessions() as session:
        assert open_queries(session, supplier) == []  # the new version answers it
