"""The guided self-assessment's decisions, as pure functions: the status an outcome's ticked
indicators give, said before the answer is saved, and how far an assessment has got, overall and
by objective.

The status is asked of the scorer's own rule (`posture.scoring.rules.claimed_level`), never
restated here, so the preview cannot disagree with the score: what the scorer counts is what the
supplier is shown. The hints ("also tick A1.a.A2") are likewise only offered once the scorer
confirms that following them reaches the level they name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from frameworks.schema import LEVEL_ORDER, Framework, Indicator, Level, Outcome, Profile
from kernel.errors import ValidationFailed
from posture.scoring.rules import (
    ACHIEVED,
    LEVEL_NAMES,
    NOT_ACHIEVED,
    PARTIALLY_ACHIEVED,
    claimed_level,
)

# The levels an answer can climb to, lowest first, with the framework's name for each.
_CLIMB = ((PARTIALLY_ACHIEVED, Level.PARTIALLY_ACHIEVED), (ACHIEVED, Level.ACHIEVED))


def status_name(level: int) -> str:
    """ "Partially achieved": the scorer's name for a level, as a heading."""
    return LEVEL_NAMES[level].capitalize()


def _ids(indicators: Iterable[Indicator]) -> list[str]:
    return [indicator.id for indicator in indicators]


@dataclass(frozen=True)
class Step:
    """What to tick and untick for the outcome to count as `level` (the scorer says it does)."""

    level: int
    tick: tuple[str, ...]
    untick: tuple[str, ...]

    def words(self) -> str:
        steps = []
        if self.tick:
            steps.append(f"also tick {', '.join(self.tick)}")
        if self.untick:
            steps.append(f"untick {', '.join(self.untick)}")
        return f"To count as {status_name(self.level)}, {' and '.join(steps)}."


@dataclass(frozen=True)
class StatusPreview:
    """What saving these ticks would make the outcome count as, and why, in words."""

    outcome_id: str
    level: int
    rule: str  # the scorer's own reason
    target: int | None  # the level the profile asks for; None when out of scope
    # Sentences on ticks the counted level leaves unused (one of two "achieved" ticked, say).
    unused: tuple[str, ...]
    steps: tuple[Step, ...]  # to each level above the counted one, lowest first

    @property
    def status(self) -> str:
        return status_name(self.level)

    @property
    def notes(self) -> tuple[str, ...]:
        return self.unused + tuple(step.words() for step in self.steps)

    @property
    def meets_target(self) -> bool | None:
        """None when the profile sets no target (out of scope) or the outcome does not apply."""
        if self.target is None or self.level < NOT_ACHIEVED:
            return None
        return self.level >= self.target

    def headline(self) -> str:
        said = f"With these answers this outcome counts as {self.status} ({self.rule})."
        if self.meets_target is True:
            return f"{said} That meets its target, {status_name(self.target or 0)}."
        if self.meets_target is False:
            return f"{said} Its target is {status_name(self.target or 0)}."
        return said


def preview_status(
    outcome: Outcome,
    ticked: Iterable[str],
    not_applicable: bool = False,
    justification: str = "",
    target: Level | None = None,
) -> StatusPreview:
    """The status the scorer gives `outcome` for these ticked indicator ids. An id that is not
    one of the outcome's indicators is refused, never counted or dropped: a preview that quietly
    ignored it would show a status the saved answer may not have."""
    own = {i for level in outcome.indicators.by_level().values() for i in _ids(level)}
    chosen = set(ticked)
    foreign = sorted(chosen - own)
    if foreign:
        raise ValidationFailed(
            f"indicators_met: {', '.join(foreign)} are not indicators of {outcome.id}"
        )
    claim = claimed_level(outcome, tuple(sorted(chosen)), not_applicable, justification)
    unused: list[str] = []
    steps: list[Step] = []
    if not not_applicable:
        unused, steps = _unused(outcome, chosen, claim.level), _steps(outcome, chosen, claim.level)
    elif claim.level == NOT_ACHIEVED:
        unused = ["Say why the outcome does not apply, or it counts as Not achieved."]
    return StatusPreview(
        outcome_id=outcome.id,
        level=claim.level,
        rule=claim.rule,
        target=None if target is None else LEVEL_ORDER[target],
        unused=tuple(unused),
        steps=tuple(steps),
    )


def _unused(outcome: Outcome, chosen: set[str], counted: int) -> list[str]:
    """Ticks at a level above the one counted: ticking one of two "achieved" indicators looks
    like progress but the scorer does not count it, and the supplier should hear that now."""
    notes = []
    for level, name in _CLIMB:
        indicators = _ids(outcome.indicators.by_level()[name])
        holding = [i for i in indicators if i in chosen]
        if holding and counted < level:
            notes.append(
                f"{status_name(level)}: {len(holding)} of its {len(indicators)} indicators "
                f"ticked; with these ticks this outcome counts as {status_name(counted)}."
            )
    return notes


def _steps(outcome: Outcome, chosen: set[str], counted: int) -> list[Step]:
    """For each level above the counted one: the ticks and unticks that reach it, offered only
    when the scorer confirms they reach exactly that level."""
    blocking = set(_ids(outcome.indicators.not_achieved))
    steps = []
    for level, name in _CLIMB:
        wanted = _ids(outcome.indicators.by_level()[name])
        if counted >= level or not wanted:
            continue
        trial = (chosen - blocking) | set(wanted)
        if claimed_level(outcome, tuple(sorted(trial))).level != level:
            continue
        tick = tuple(i for i in wanted if i not in chosen)
        steps.append(Step(level, tick, tuple(sorted(chosen & blocking))))
    return steps


def outcomes_in_scope(framework: Framework, profile: Profile) -> list[Outcome]:
    """The outcomes the profile sets a target for, in framework order."""
    return [o for o in framework.outcomes() if profile.target_for(o) is not None]


def unanswered_outcomes(
    framework: Framework, profile: Profile, answered: Iterable[str]
) -> list[str]:
    """Ids of the outcomes in scope that have no answer at all, in framework order."""
    have = set(answered)
    return [o.id for o in outcomes_in_scope(framework, profile) if o.id not in have]


@dataclass(frozen=True)
class ObjectiveProgress:
    objective_id: str
    title: str
    answered: int
    to_confirm: int
    in_scope: int

    @property
    def unanswered(self) -> int:
        return self.in_scope - self.answered - self.to_confirm


@dataclass(frozen=True)
class Progress:
    """Answered (by a person), to confirm (inferred, not yet saved) and unanswered outcomes in
    scope. Answers to outcomes out of scope (left from before a change of profile) and ids the
    framework does not know are not counted."""

    answered: int
    to_confirm: int
    in_scope: int
    unanswered: tuple[str, ...]
    by_objective: tuple[ObjectiveProgress, ...]

    @property
    def complete(self) -> bool:
        return not self.unanswered and not self.to_confirm


def assessment_progress(
    framework: Framework,
    profile: Profile,
    answered: Iterable[str],
    inferred: Iterable[str] = (),
) -> Progress:
    """`answered`: outcome ids with a person's answer; `inferred`: ids with an answer only
    inferred from another framework (it counts once confirmed)."""
    scope = outcomes_in_scope(framework, profile)
    in_scope = {o.id for o in scope}
    mine = set(answered) & in_scope
    offered = (set(inferred) & in_scope) - mine
    parents = framework.outcome_parents()
    rows = []
    for objective in framework.objectives:
        ids = [o.id for o in scope if parents[o.id][0] == objective.id]
        if ids:
            rows.append(
                ObjectiveProgress(
                    objective.id,
                    objective.title,
                    answered=sum(i in mine for i in ids),
                    to_confirm=sum(i in offered for i in ids),
                    in_scope=len(ids),
                )
            )
    return Progress(
        answered=len(mine),
        to_confirm=len(offered),
        in_scope=len(scope),
        unanswered=tuple(o.id for o in scope if o.id not in mine | offered),
        by_objective=tuple(rows),
    )
