"""The columnar estate load gives exactly the rows the object load and encoder give, on both
backends, for the whole estate and for single subjects, with check runs of every kind."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from posture.scoring.columns import load_arrays
from posture.scoring.encode import COLUMN_TYPES, EstateArrays, encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.reference import score_reference
from posture.scoring.service import score_estate
from posture.scoring.subjects import SubjectFilter
from posture.scoring.tables import framework_tables
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, CheckRun
from tests.scoring.estate_with_runs import AS_OF, seed_with_runs


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        seed_with_runs(session, suppliers=60, runs=40)
    return sessions


def _assert_same(objects: EstateArrays, columnar: EstateArrays) -> None:
    assert columnar.subjects == objects.subjects
    for name in COLUMN_TYPES:
        expected, got = getattr(objects, name), getattr(columnar, name)
        assert got.dtype == expected.dtype, name
        assert np.array_equal(got, expected), name


def _both(session: Session, as_of: date, subjects: SubjectFilter | None = None):  # type: ignore[no-untyped-def]
    loaded = default_framework()
    tables = framework_tables(loaded)
    return (
        encode(load_estate(session, loaded, as_of, subjects), tables),
        load_arrays(session, loaded, tables, as_of, subjects),
    )


def test_the_whole_estate_loads_the_same_rows_both_ways(estate: sessionmaker[Session]) -> None:
    with estate() as session:
        objects, columnar = _both(session, AS_OF)
    assert len(columnar.subjects) == 43 + 60
    assert (columnar.check_level >= 0).sum() > 50, "the estate must carry check evidence"
    assert (columnar.check_level == 0).any()
    assert (columnar.check_level == 2).any()
    _assert_same(objects, columnar)


def test_an_earlier_date_loads_the_same_rows_both_ways(estate: sessionmaker[Session]) -> None:
    with estate() as session:
        _assert_same(*_both(session, date(2026, 8, 15)))


def test_each_subject_alone_loads_its_own_rows(estate: sessionmaker[Session]) -> None:
    with estate() as session:
        subjects = session.execute(
            select(CheckRun.organisation_id, CheckRun.product_id).distinct()
        ).all()
        for organisation_id, product_id in subjects[:12]:
            one = (
                SubjectFilter.product(product_id)
                if product_id
                else SubjectFilter.organisation(organisation_id)
            )
            objects, columnar = _both(session, AS_OF, one)
            assert len(columnar.subjects) <= 1
            _assert_same(objects, columnar)


def test_several_subjects_load_together_as_they_do_alone(estate: sessionmaker[Session]) -> None:
    with estate() as session:
        pairs = session.execute(
            select(Assessment.organisation_id, Assessment.product_id).distinct().limit(9)
        ).all()
        objects, columnar = _both(session, AS_OF, SubjectFilter.of(pairs))
    assert {(s.organisation_id, s.product_id) for s in columnar.subjects} <= set(pairs)
    _assert_same(objects, columnar)


def test_odd_stored_answers_load_the_same_both_ways(estate: sessionmaker[Session]) -> None:
    """Indicators of another outcome, unknown or repeated indicators, an empty list, a
    not-applicable claim justified only by whitespace, and a rejected answer."""
    with transaction(estate) as session:
        answers = session.scalars(select(Answer).order_by(Answer.id).limit(400)).all()
        other = next(
            a.indicators_met
            for a in answers
            if a.outcome_id != answers[0].outcome_id and a.indicators_met
        )
        answers[0].indicators_met = [*answers[0].indicators_met, *other]
        answers[1].indicators_met = ["NO-SUCH-INDICATOR", *answers[1].indicators_met * 2]
        answers[2].indicators_met = []
        answers[3].not_applicable, answers[3].justification = True, " \t\n "
        answers[4].not_applicable, answers[4].justification = True, "Not hosted by us."
        answers[5].review_status = "rejected"
        session.execute(update(Answer).where(Answer.id == answers[6].id).values(indicators_met=[]))
        # Imported or hand-edited lists that no writer of ours produces.
        for answer, odd in zip(
            answers[7:],
            (None, 5, "A1.a.PA1", [["nested"], *answers[7].indicators_met], {"A1.a.A1": True}),
            strict=False,
        ):
            session.execute(update(Answer).where(Answer.id == answer.id).values(indicators_met=odd))
    with estate() as session:
        _assert_same(*_both(session, AS_OF))


def test_the_engine_over_columns_agrees_with_the_reference_loop(
    estate: sessionmaker[Session],
) -> None:
    loaded = default_framework()
    tables = framework_tables(loaded)
    with estate() as session:
        scores = score_arrays(load_arrays(session, loaded, tables, AS_OF), tables)
        reference = score_reference(load_estate(session, loaded, AS_OF), loaded)
    assert scores.contradicted.sum() > 0
    np.testing.assert_allclose(scores.score, reference.score, rtol=0, atol=1e-9)
    np.testing.assert_allclose(scores.confidence, reference.confidence, rtol=0, atol=1e-9)
    assert scores.band == reference.band
    assert np.array_equal(scores.contradicted, reference.contradicted)


@pytest.mark.parametrize("which", ["middle", "largest"])
def test_a_subject_whose_profile_is_retired_lends_its_answers_to_no_one(
    estate: sessionmaker[Session], which: str
) -> None:
    """Scoring skips an assessment under a profile the framework no longer has; its answers
    must not land in the subject beside it, wherever its id falls."""
    with estate() as session:
        objects, _ = _both(session, AS_OF)
    ids = sorted(ref.assessment_id for ref in objects.subjects)
    retired = ids[len(ids) // 2] if which == "middle" else ids[-1]
    with transaction(estate) as session:
        session.execute(
            update(Assessment).where(Assessment.id == retired).values(profile_id="retired-profile")
        )
    with estate() as session:
        objects, columnar = _both(session, AS_OF)
        scores = score_estate(session, AS_OF)
    assert retired not in {ref.assessment_id for ref in columnar.subjects}
    assert len(scores.subjects) == len(ids) - 1
    _assert_same(objects, columnar)


def test_a_filter_naming_too_many_subjects_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        SubjectFilter(products=frozenset(range(10_001)))
