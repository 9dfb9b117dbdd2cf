"""The scoring rules for one answer, written plainly. The reference scorer and `explain` use them;
the vectorised engine implements the same rules over arrays and is tested against them."""

from __future__ import annotations

from dataclasses import dataclass

from frameworks.schema import Outcome
from posture.scoring.inputs import AnswerRecord

NOT_APPLICABLE = -1
NOT_ACHIEVED, PARTIALLY_ACHIEVED, ACHIEVED = 0, 1, 2
LEVEL_NAMES = {
    NOT_APPLICABLE: "not applicable",
    NOT_ACHIEVED: "not achieved",
    PARTIALLY_ACHIEVED: "partially achieved",
    ACHIEVED: "achieved",
}
AUTOMATED_CHECK_RANK = 2  # index of automated_check in frameworks.scoring_policy.PROVENANCES


@dataclass(frozen=True)
class ClaimedLevel:
    level: int
    rule: str


def claimed_level(
    outcome: Outcome,
    indicators_met: tuple[str, ...] | None,
    not_applicable: bool = False,
    justification: str = "",
) -> ClaimedLevel:
    """CAF-style status from the indicators an answer says hold."""
    if indicators_met is None:
        return ClaimedLevel(NOT_ACHIEVED, "no answer: counted as not achieved")
    if not_applicable:
        if justification.strip():
            return ClaimedLevel(NOT_APPLICABLE, f"not applicable: {justification.strip()}")
        return ClaimedLevel(
            NOT_ACHIEVED, "marked not applicable without a justification: counted as not achieved"
        )
    met = set(indicators_met)
    indicators = outcome.indicators
    holding = [i.id for i in indicators.not_achieved if i.id in met]
    if holding:
        return ClaimedLevel(NOT_ACHIEVED, f"not-achieved indicator {', '.join(holding)} holds")
    if all(i.id in met for i in indicators.achieved):
        return ClaimedLevel(ACHIEVED, "every achieved indicator holds")
    if indicators.partially_achieved and all(i.id in met for i in indicators.partially_achieved):
        return ClaimedLevel(PARTIALLY_ACHIEVED, "every partially-achieved indicator holds")
    return ClaimedLevel(
        NOT_ACHIEVED, "neither every achieved nor every partially-achieved indicator holds"
    )


def answer_claim(outcome: Outcome, answer: AnswerRecord | None) -> ClaimedLevel:
    if answer is None:
        return claimed_level(outcome, None)
    return claimed_level(
        outcome, answer.indicators_met, answer.not_applicable, answer.justification
    )


def decay(age_days: float, half_life_days: float) -> float:
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))
