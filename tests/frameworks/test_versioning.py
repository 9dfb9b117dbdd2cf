"""A new framework version keeps old assessments valid; answers carry over as the map says."""

from __future__ import annotations

import pytest

from frameworks.library import shipped_library
from frameworks.schema import Framework, MigrationMap
from frameworks.versioning import AnswerFacts, carry_over


def _v11() -> Framework:
    """PTSbD 1.1 for the test: E2.b renamed E2.c, A1.b folded into A1.a, D2.b gains an indicator."""
    document = shipped_library().latest("ptsbd").framework.model_dump(mode="json")
    document["version"] = "1.1"
    for objective in document["objectives"]:
        for principle in objective["principles"]:
            kept = []
            for outcome in principle["outcomes"]:
                if outcome["id"] == "A1.b":
                    continue
                if outcome["id"] == "E2.b":
                    outcome["id"] = "E2.c"
                    for level in outcome["indicators"].values():
                        for indicator in level:
                            indicator["id"] = indicator["id"].replace("E2.b", "E2.c")
                if outcome["id"] == "D2.b":
                    outcome["indicators"]["achieved"] = [
                        {"id": "D2.b.A2", "text": "Review actions are closed within 90 days."}
                    ]
                kept.append(outcome)
            principle["outcomes"] = kept
    return Framework.model_validate(document)


MIGRATION = MigrationMap.model_validate(
    {
        "framework_id": "ptsbd",
        "migrations": [
            {"from_version": "1.0", "to_version": "1.1", "outcome": "E2.b", "becomes": ["E2.c"]},
            {"from_version": "1.0", "to_version": "1.1", "outcome": "A1.b", "becomes": ["A1.a"]},
        ],
    }
)


def test_unchanged_outcomes_carry_over_as_they_were() -> None:
    old = shipped_library().latest("ptsbd").framework
    answers = {"C3.b": AnswerFacts(("C3.b.PA1",), comment="hybrid on the portal only")}
    result = carry_over(answers, MIGRATION, old, _v11())
    assert result.answers["C3.b"] == answers["C3.b"]
    assert "C3.b" not in result.needs_answer


def test_a_renamed_outcome_takes_its_answer_and_indicators_along() -> None:
    old = shipped_library().latest("ptsbd").framework
    result = carry_over({"E2.b": AnswerFacts(("E2.b.A1", "E2.b.A2"))}, MIGRATION, old, _v11())
    assert result.answers["E2.c"].indicators_met == ("E2.c.A1", "E2.c.A2")
    assert "E2.c" not in result.needs_answer


def test_two_outcomes_merged_into_one_need_a_fresh_answer() -> None:
    old = shipped_library().latest("ptsbd").framework
    answers = {"A1.a": AnswerFacts(("A1.a.A1",)), "A1.b": AnswerFacts(("A1.b.NA1",))}
    result = carry_over(answers, MIGRATION, old, _v11())
    assert "A1.a" not in result.answers
    assert "A1.a" in result.needs_answer
    assert set(result.dropped) == {"A1.a", "A1.b"}


def test_an_indicator_that_no_longer_exists_flags_the_answer_for_review() -> None:
    old = shipped_library().latest("ptsbd").framework
    result = carry_over({"D2.b": AnswerFacts(("D2.b.A1",))}, MIGRATION, old, _v11())
    assert result.answers["D2.b"].indicators_met == ()
    assert "D2.b" in result.needs_answer


def test_outcomes_without_any_old_answer_need_one() -> None:
    old = shipped_library().latest("ptsbd").framework
    result = carry_over({}, MIGRATION, old, _v11())
    assert len(result.needs_answer) == len(_v11().outcomes())


def test_answers_do_not_cross_between_frameworks() -> None:
    old = shipped_library().latest("ptsbd").framework
    other = old.model_copy(update={"framework_id": "other"})
    with pytest.raises(ValueError, match="same framework"):
        carry_over({}, MIGRATION, old, other)
