"""The review queue as a paged query: every waiting answer on exactly one page, contradicted
claims first (as the scoring engine judges them), filters, and the reviewer's scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.identity.permissions import Membership, PermissionDenied, Principal
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Answer, Assessment, CheckRun
from posture.storage.models.enums import Role
from supplier_portal import review_contradictions
from supplier_portal.review_contradictions import capped_subjects
from supplier_portal.review_queue import QueueItem, QueueQuery
from supplier_portal.reviews import review_queue
from tests.review_estate import (
    TODAY,
    ReviewEstate,
    build_review_estate,
    contradicted_the_slow_way,
    waiting_answers,
)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sessionmaker, ReviewEstate]]:
    """One seeded SQLite estate for the reading tests of this module (none of them writes)."""
    folder: Path = tmp_path_factory.mktemp("review-queue")
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        built = build_review_estate(session)
    yield sessions, built
    engine.dispose()


def every_page(session: Session, me: Principal, size: int, **filters: object) -> list[QueueItem]:
    items: list[QueueItem] = []
    number = 1
    while True:
        found = review_queue(session, me, TODAY, QueueQuery.page(number, size, **filters))
        assert found.page == number
        assert len(found.items) <= size
        items += found.items
        if number >= found.pages:
            assert len(items) == found.total
            return items
        assert len(found.items) == size  # only the last page is short
        number += 1


def test_paging_is_complete_and_disjoint_on_both_backends(sessions: sessionmaker) -> None:
    with transaction(sessions) as session:
        built = build_review_estate(session)
    with sessions() as session:
        expected = waiting_answers(session, built.assessor)
        for contradicted_first in (True, False):
            items = every_page(session, built.assessor, 7, contradicted_first=contradicted_first)
            ids = [item.answer_id for item in items]
            assert len(ids) == len(set(ids)), "an answer appeared on two pages"
            assert set(ids) == expected
        # The same page twice is the same page.
        again = [review_queue(session, built.assessor, TODAY, QueueQuery.page(3, 7)) for _ in "ab"]
        assert again[0].items == again[1].items


@pytest.mark.parametrize("size", [1, 5, 100])
def test_every_page_size_gives_every_answer_once(estate, size: int) -> None:
    sessions, built = estate
    with sessions() as session:
        ids = [item.answer_id for item in every_page(session, built.assessor, size)]
        assert sorted(ids) == sorted(waiting_answers(session, built.assessor))


def test_contradicted_claims_come_first_as_the_engine_judges_them(estate) -> None:
    sessions, built = estate
    with sessions() as session:
        items = every_page(session, built.assessor, 9)
        oracle = contradicted_the_slow_way(session, built.assessor, TODAY)
    flagged = [item for item in items if item.contradicted]
    assert {item.answer_id for item in flagged} == oracle
    assert set(built.contradicted_answer_ids) <= oracle
    assert all(item.claimed == "achieved" for item in flagged if item.answer_id in oracle)
    # Contradicted first, then the rest; each part oldest submission first, then by outcome.
    assert items[: len(flagged)] == flagged
    for part in (flagged, items[len(flagged) :]):
        keys = [(i.submitted_at, i.assessment_id, i.outcome_id) for i in part]
        assert keys == sorted(keys)
    assert all(item.claimed == "" for item in items[len(flagged) :])


def test_without_contradicted_first_the_flags_stay_and_the_order_is_by_submission(estate) -> None:
    sessions, built = estate
    with sessions() as session:
        items = every_page(session, built.assessor, 11, contradicted_first=False)
        oracle = contradicted_the_slow_way(session, built.assessor, TODAY)
    keys = [(i.submitted_at, i.assessment_id, i.outcome_id) for i in items]
    assert keys == sorted(keys)
    assert {i.answer_id for i in items if i.contradicted} == oracle


def test_a_newer_clean_run_withdraws_the_contradiction(estate) -> None:
    """The third crafted subject had the finding five days before a clean run of the same kind:
    the newest run stands, so its C3.b claim is not flagged (unless another kind's run, which
    the seed may record, caps it: then the engine's oracle says so too)."""
    sessions, built = estate
    with sessions() as session:
        items = every_page(session, built.assessor, 50)
        oracle = contradicted_the_slow_way(session, built.assessor, TODAY)
        answer = session.get(Answer, built.withdrawn_answer_id)
        assessment = session.get(Assessment, answer.assessment_id)
        other_runs = session.scalar(
            select(func.count())
            .select_from(CheckRun)
            .where(CheckRun.product_id == assessment.product_id, CheckRun.kind != "tls")
        )
    flagged = {i.answer_id for i in items if i.contradicted}
    assert (built.withdrawn_answer_id in flagged) == (built.withdrawn_answer_id in oracle)
    if not other_runs:
        assert built.withdrawn_answer_id not in flagged


def test_only_subjects_whose_checks_found_something_are_judged(estate) -> None:
    sessions, built = estate
    loaded = default_framework()
    with sessions() as session:
        capped = capped_subjects(session, loaded, TODAY)
        contradicted = session.execute(
            select(Assessment.organisation_id, Assessment.product_id)
            .join(Answer, Answer.assessment_id == Assessment.id)
            .where(Answer.id.in_(built.contradicted_answer_ids))
        ).all()
        subjects = session.execute(
            select(Assessment.organisation_id, Assessment.product_id).distinct()
        ).all()
    assert {tuple(s) for s in contradicted} <= capped
    assert len(capped) < len(subjects)


@pytest.mark.parametrize("which", ["organisation", "product", "outcome", "organisation+outcome"])
def test_filters_give_exactly_the_matching_answers(estate, which: str) -> None:
    sessions, built = estate
    with sessions() as session:
        first = review_queue(session, built.assessor, TODAY, QueueQuery(limit=100)).items
        sample = next(i for i in first if i.product_id is not None and not i.contradicted)
        filters: dict[str, object] = {}
        if "organisation" in which:
            filters["organisation_id"] = sample.organisation_id
        if which == "product":
            filters["product_id"] = sample.product_id
        if "outcome" in which:
            filters["outcome_id"] = sample.outcome_id
        items = every_page(session, built.assessor, 4, **filters)
        query = (
            select(Answer.id)
            .join(Assessment, Assessment.id == Answer.assessment_id)
            .where(Answer.id.in_(waiting_answers(session, built.assessor)))
        )
        if "organisation_id" in filters:
            query = query.where(Assessment.organisation_id == filters["organisation_id"])
        if "product_id" in filters:
            query = query.where(Assessment.product_id == filters["product_id"])
        if "outcome_id" in filters:
            query = query.where(Answer.outcome_id == filters["outcome_id"])
        expected = set(session.scalars(query))
    assert sample.answer_id in expected
    assert sorted(i.answer_id for i in items) == sorted(expected)


def test_the_contradicted_set_follows_the_filters(estate) -> None:
    sessions, built = estate
    with sessions() as session:
        contradicted = session.get(Answer, built.contradicted_answer_ids[0])
        assessment = session.get(Assessment, contradicted.assessment_id)
        found = review_queue(
            session, built.assessor, TODAY, QueueQuery(product_id=assessment.product_id, limit=5)
        )
    assert found.items[0].answer_id == contradicted.id
    assert found.items[0].contradicted
    assert {i.product_id for i in found.items} == {assessment.product_id}


def test_a_reviewer_is_never_offered_their_own_organisations_answers(estate) -> None:
    sessions, built = estate
    with sessions() as session:
        own = set(
            session.scalars(
                select(Answer.id).where(Answer.assessment_id == built.own_assessment_id)
            )
        )
        items = every_page(session, built.assessor, 100)
        home = next(iter(built.assessor.organisation_ids()))
        filtered = review_queue(session, built.assessor, TODAY, QueueQuery(organisation_id=home))
    assert own
    assert not own & {i.answer_id for i in items}
    assert filtered.total == 0
    assert filtered.items == []


def test_suppliers_and_tokens_without_the_review_scope_cannot_use_the_queue(estate) -> None:
    sessions, built = estate
    supplier = Principal(9_999, "s@example.com", (Membership(1, Role.SUPPLIER_ADMIN),))
    force = Principal(9_998, "f@example.police.uk", (Membership(1, Role.FORCE_ASSESSOR),))
    narrow = Principal(
        built.assessor.user_id,
        built.assessor.email,
        built.assessor.memberships,
        token_scopes=frozenset({"assessments:read"}),
    )
    with sessions() as session:
        for who in (supplier, force, narrow):
            with pytest.raises(PermissionDenied):
                review_queue(session, who, TODAY, QueueQuery())


def test_hostile_paging_and_filters_are_refused_or_harmless(estate) -> None:
    sessions, built = estate
    for bad in (
        {"limit": 101},
        {"limit": 0},
        {"offset": -1},
        {"offset": 10**9},
        {"outcome_id": "A1.a' OR '1'='1"},
        {"outcome_id": "x" * 33},
        {"organisation_id": 0},
        {"product_id": 2**31},
        {"unknown": 1},
    ):
        with pytest.raises(ValidationError):
            QueueQuery.model_validate(bad)
    with pytest.raises(ValidationError):
        QueueQuery.page(0, 10)
    with sessions() as session:
        total = len(waiting_answers(session, built.assessor))
        past = review_queue(session, built.assessor, TODAY, QueueQuery(offset=total + 5, limit=10))
        nothing = review_queue(session, built.assessor, TODAY, QueueQuery(outcome_id="Z9.z"))
    assert past.items == []
    assert past.total == total
    assert nothing.items == []
    assert nothing.total == 0


def test_judging_a_few_assessments_at_a_time_gives_the_same_pages(estate, monkeypatch) -> None:
    """The first pages stop judging once they have their contradicted answers: with one
    assessment judged at a time, every page is still the one a whole judgement gives."""
    sessions, built = estate
    with sessions() as session:
        whole = every_page(session, built.assessor, 3)
        monkeypatch.setattr(review_contradictions, "FIRST_CHUNK", 1)
        monkeypatch.setattr(review_contradictions, "CHUNK", 2)
        for size in (1, 3):
            assert every_page(session, built.assessor, size) == whole
        first = review_queue(session, built.assessor, TODAY, QueueQuery(limit=1))
    assert first.items == whole[:1]
    assert first.contradicted is None  # stopped early: not counted
