"""The guided self-assessment's preview and progress (pure): the preview says what the scorer
will count before the answer is saved, its hints reach the level they name, and foreign
indicator ids are refused rather than counted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frameworks.loader import default_framework
from frameworks.schema import Level
from kernel.errors import ValidationFailed
from posture.scoring.rules import (
    ACHIEVED,
    NOT_ACHIEVED,
    NOT_APPLICABLE,
    PARTIALLY_ACHIEVED,
    claimed_level,
)
from supplier_portal.assessment_guide import (
    assessment_progress,
    outcomes_in_scope,
    preview_status,
    unanswered_outcomes,
)

LOADED = default_framework()
FRAMEWORK = LOADED.framework
A1A = FRAMEWORK.outcome("A1.a")  # NA1, NA2 | PA1 | A1, A2
OUTCOMES = FRAMEWORK.outcomes()


def test_one_of_two_achieved_indicators_is_said_to_count_as_not_achieved() -> None:
    preview = preview_status(A1A, ["A1.a.A1"], target=Level.ACHIEVED)
    assert preview.level == NOT_ACHIEVED
    assert preview.status == "Not achieved"
    assert preview.meets_target is False
    assert "Achieved: 1 of its 2 indicators ticked; with these ticks this outcome counts as " \
        "Not achieved." in preview.notes  # fmt: skip
    assert "To count as Achieved, also tick A1.a.A2." in preview.notes
    assert "To count as Partially achieved, also tick A1.a.PA1." in preview.notes
    assert "counts as Not achieved" in preview.headline()
    assert "Its target is Achieved" in preview.headline()


def test_both_achieved_indicators_count_as_achieved_and_meet_the_target() -> None:
    preview = preview_status(A1A, ["A1.a.A2", "A1.a.A1"], target=Level.ACHIEVED)
    assert (preview.level, preview.meets_target, preview.steps, preview.unused) == (
        ACHIEVED,
        True,
        (),
        (),
    )
    assert "That meets its target, Achieved." in preview.headline()


def test_a_held_not_achieved_indicator_caps_the_outcome_and_the_hint_says_untick_it() -> None:
    preview = preview_status(A1A, ["A1.a.A1", "A1.a.A2", "A1.a.NA2"])
    assert preview.level == NOT_ACHIEVED
    assert preview.meets_target is None  # no target given
    (step,) = [s for s in preview.steps if s.level == ACHIEVED]
    assert (step.tick, step.untick) == ((), ("A1.a.NA2",))
    assert step.words() == "To count as Achieved, untick A1.a.NA2."


def test_not_applicable_needs_a_reason_to_count_as_such() -> None:
    unjustified = preview_status(A1A, [], not_applicable=True)
    assert unjustified.level == NOT_ACHIEVED
    assert unjustified.notes == (
        "Say why the outcome does not apply, or it counts as Not achieved.",
    )
    justified = preview_status(A1A, [], not_applicable=True, justification="No staff")
    assert justified.level == NOT_APPLICABLE
    assert justified.status == "Not applicable"
    assert justified.meets_target is None


@pytest.mark.parametrize(
    "foreign",
    [
        ["A1.b.A1"],  # another outcome's indicator
        ["A1.a.A9"],  # looks like one of its own, is not
        ["A1.a.A1", "nonsense"],
        ["A1.a.A1 "],  # not trimmed into a match
    ],
)
def test_indicator_ids_not_of_the_outcome_are_refused_not_counted(foreign: list[str]) -> None:
    with pytest.raises(ValidationFailed, match=r"not indicators of A1\.a"):
        preview_status(A1A, foreign)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_preview_is_the_scorers_status_and_every_hint_reaches_its_level(data) -> None:  # type: ignore[no-untyped-def]
    outcome = data.draw(st.sampled_from(OUTCOMES))
    own = sorted(i.id for level in outcome.indicators.by_level().values() for i in level)
    ticked = set(data.draw(st.lists(st.sampled_from(own), unique=True)))
    preview = preview_status(outcome, ticked)
    assert preview.level == claimed_level(outcome, tuple(sorted(ticked))).level
    for step in preview.steps:
        assert step.level > preview.level
        after = (ticked | set(step.tick)) - set(step.untick)
        assert claimed_level(outcome, tuple(sorted(after))).level == step.level
    # Whenever something is ticked at a level above the one counted, the preview says so.
    for level, indicators in (
        (PARTIALLY_ACHIEVED, outcome.indicators.partially_achieved),
        (ACHIEVED, outcome.indicators.achieved),
    ):
        if preview.level < level and any(i.id in ticked for i in indicators):
            assert any(note.startswith(preview_name(level)) for note in preview.unused)


def preview_name(level: int) -> str:
    return {PARTIALLY_ACHIEVED: "Partially achieved", ACHIEVED: "Achieved"}[level]


def test_progress_counts_answered_inferred_and_unanswered_by_objective() -> None:
    profile = LOADED.profiles["supplier-saas"]
    scope = outcomes_in_scope(FRAMEWORK, profile)
    ids = [o.id for o in scope]
    answered = [*ids[:3], "Z9.z", "nonsense"]  # ids the framework does not know are not counted
    progress = assessment_progress(FRAMEWORK, profile, answered, inferred=[ids[3], ids[0]])
    assert (progress.answered, progress.to_confirm, progress.in_scope) == (3, 1, len(ids))
    assert progress.unanswered == tuple(ids[4:])
    assert not progress.complete
    assert sum(r.in_scope for r in progress.by_objective) == len(ids)
    assert sum(r.answered for r in progress.by_objective) == 3
    first = progress.by_objective[0]
    assert (first.objective_id, first.title) == ("A", "Govern security risk")
    assert first.unanswered == first.in_scope - first.answered - first.to_confirm
    everything = assessment_progress(FRAMEWORK, profile, ids)
    assert everything.complete
    assert everything.unanswered == ()


def test_an_out_of_scope_answer_is_not_counted_and_submit_uses_the_same_gaps() -> None:
    profile = LOADED.profiles["supplier-saas"]
    outside = [o.id for o in OUTCOMES if profile.target_for(o) is None]
    assert outside, "supplier-saas leaves some outcomes out of scope"
    progress = assessment_progress(FRAMEWORK, profile, outside)
    assert progress.answered == 0
    assert list(progress.unanswered) == unanswered_outcomes(FRAMEWORK, profile, outside)
