"""Carry answers from one framework version to the next, as the migration map says.

Assessments stay pinned to the version they were made against; carrying over creates the draft
answers of a new assessment on the newer version, and says what needs a fresh answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from frameworks.schema import Framework, MigrationMap


@dataclass(frozen=True)
class AnswerFacts:
    """The parts of an answer that carry over; provenance and age stay with the old answer."""

    indicators_met: tuple[str, ...]
    not_applicable: bool = False
    justification: str = ""
    comment: str = ""


@dataclass
class CarryOver:
    answers: dict[str, AnswerFacts] = field(default_factory=dict)
    # Old outcome -> why nothing carried (removed, merged with a conflict, ...).
    dropped: dict[str, str] = field(default_factory=dict)
    # New outcomes with no carried answer, or whose carried indicators no longer all exist.
    needs_answer: list[str] = field(default_factory=list)


def _targets(migration: MigrationMap, old: Framework, new: Framework) -> dict[str, list[str]]:
    explicit = {
        entry.outcome: entry.becomes
        for entry in migration.migrations
        if entry.from_version == old.version and entry.to_version == new.version
    }
    new_ids = {outcome.id for outcome in new.outcomes()}
    targets: dict[str, list[str]] = {}
    for outcome in old.outcomes():
        if outcome.id in explicit:
            targets[outcome.id] = list(explicit[outcome.id])
        elif outcome.id in new_ids:
            targets[outcome.id] = [outcome.id]
        else:
            targets[outcome.id] = []
    return targets


def carry_over(
    answers: dict[str, AnswerFacts], migration: MigrationMap, old: Framework, new: Framework
) -> CarryOver:
    if old.framework_id != new.framework_id or migration.framework_id != old.framework_id:
        raise ValueError("answers carry over only between versions of the same framework")
    targets = _targets(migration, old, new)
    indicator_ids = {
        outcome.id: {i.id for level in outcome.indicators.by_level().values() for i in level}
        for outcome in new.outcomes()
    }
    result = CarryOver()
    claimed: dict[str, str] = {}
    incomplete: set[str] = set()
    for old_id, facts in answers.items():
        destinations = targets.get(old_id, [])
        if not destinations:
            result.dropped[old_id] = f"outcome {old_id} has no successor in {new.version}"
            continue
        for new_id in destinations:
            if new_id in claimed:
                # Two old answers meet in one new outcome: neither can speak for it alone.
                result.answers.pop(new_id, None)
                incomplete.add(new_id)
                first = claimed[new_id]
                result.dropped[old_id] = f"merged into {new_id} together with {first}"
                result.dropped.setdefault(first, f"merged into {new_id} together with {old_id}")
                continue
            claimed[new_id] = old_id
            renamed = [
                new_id + indicator.removeprefix(old_id) for indicator in facts.indicators_met
            ]
            kept = tuple(i for i in renamed if i in indicator_ids[new_id])
            if len(kept) != len(renamed):
                incomplete.add(new_id)
            result.answers[new_id] = AnswerFacts(
                kept, facts.not_applicable, facts.justification, facts.comment
            )
    for outcome in new.outcomes():
        if outcome.id not in result.answers or outcome.id in incomplete:
            result.needs_answer.append(outcome.id)
    return result
