"""Property: on any estate, the vectorised engine and the plain loop give identical results."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frameworks.scoring_policy import PROVENANCES
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.inputs import AnswerRecord, CheckEvidence, Estate, SubjectAnswers, SubjectRef
from posture.scoring.reference import score_reference
from posture.scoring.tables import framework_tables
from tests.scoring.helpers import AS_OF, NOON, ptsbd

LOADED = ptsbd()
OUTCOMES = LOADED.framework.outcomes()
ALL_INDICATORS = [
    i.id for o in OUTCOMES for level in o.indicators.by_level().values() for i in level
]


@st.composite
def answers_for(draw: st.DrawFn, outcome_id: str) -> AnswerRecord:
    outcome = LOADED.framework.outcome(outcome_id)
    own = [i.id for level in outcome.indicators.by_level().values() for i in level]
    met = draw(st.lists(st.sampled_from(own + ALL_INDICATORS[:5]), max_size=8, unique=True))
    return AnswerRecord(
        indicators_met=tuple(met),
        provenance=draw(st.sampled_from(PROVENANCES)),
        answered_at=NOON - timedelta(days=draw(st.floats(0, 2000))),
        not_applicable=draw(st.booleans()),
        justification=draw(st.sampled_from(["", "  ", "No API is offered."])),
    )


@st.composite
def subjects(draw: st.DrawFn, index: int) -> SubjectAnswers:
    profile = draw(st.sampled_from(sorted(LOADED.profiles)))
    chosen = draw(st.lists(st.sampled_from([o.id for o in OUTCOMES]), unique=True))
    answers = {outcome_id: draw(answers_for(outcome_id)) for outcome_id in chosen}
    checked = draw(st.lists(st.sampled_from([o.id for o in OUTCOMES]), unique=True, max_size=6))
    checks = {
        outcome_id: CheckEvidence(
            level=draw(st.integers(0, 2)),
            checked_at=NOON - timedelta(days=draw(st.floats(0, 400))),
            check_run_id=index,
            finding_code="X-1",
        )
        for outcome_id in checked
    }
    return SubjectAnswers(
        SubjectRef("product", index, index, index, f"p{index}"), profile, answers, checks
    )


@st.composite
def estates(draw: st.DrawFn) -> Estate:
    count = draw(st.integers(1, 6))
    return Estate(AS_OF, [draw(subjects(index)) for index in range(count)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates())
def test_engine_and_reference_loop_agree(estate: Estate) -> None:
    tables = framework_tables(LOADED)
    engine = score_arrays(encode(estate, tables), tables)
    loop = score_reference(estate, LOADED)
    np.testing.assert_array_equal(engine.row_claimed, loop.row_claimed)
    np.testing.assert_array_equal(engine.row_final, loop.row_final)
    np.testing.assert_array_equal(engine.row_contradicted, loop.row_contradicted)
    np.testing.assert_allclose(engine.row_confidence, loop.row_confidence, rtol=1e-12)
    np.testing.assert_array_equal(engine.score, loop.score)
    assert engine.band == loop.band
    np.testing.assert_array_equal(engine.capped, loop.capped)
    np.testing.assert_allclose(engine.confidence, loop.confidence, rtol=1e-9, atol=1e-12)
    for name in ("contradicted", "not_applicable", "gaps", "gap_levels"):
        np.testing.assert_array_equal(getattr(engine, name), getattr(loop, name))
    np.testing.assert_allclose(engine.objective_scores, loop.objective_scores, equal_nan=True)
