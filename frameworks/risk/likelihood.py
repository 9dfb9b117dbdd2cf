"""Suggest a scenario's current likelihood from its linked evidence: a baseline, raised or lowered
by each rule that at least one evidence item matches. The assessor decides; the suggestion says
which rules moved it and which items matched each."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from checks.findings import SEVERITY_RANK, Severity
from frameworks.risk.matrix import RiskDataMismatch, RiskId, RiskMatrix, Version
from frameworks.schema import Strict, Text, reject_duplicates

RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", max_length=64)]
# "finding:12", "claim:4", "gap:ptsbd-1.0/SBD-A1.1": a kind of record and its key.
EvidenceRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z_-]*:[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
]
MAX_STEPS = 2
MAX_RULES = 100
# How many refs a rule's part of the one-line explanation names before "and N more".
REFS_SHOWN = 5
STEP_WORDS = {1: "one step", 2: "two steps", 3: "three steps", 4: "four steps"}


class EvidenceKind(StrEnum):
    FRAMEWORK_GAP = "framework_gap"
    CONTRADICTED_CLAIM = "contradicted_claim"
    FINDING = "finding"
    ALERT = "alert"


class EvidenceItem(Strict):
    """One piece of adverse evidence linked to a scenario. Alerts are passed only while
    unacknowledged; a finding only while open."""

    kind: EvidenceKind
    ref: EvidenceRef
    label: Text
    severity: Severity | None = None
    # The gap or claim is on an outcome its framework marks critical.
    critical_outcome: bool = False


class RuleCondition(Strict):
    """What one evidence item must be for the rule to match. A severity threshold matches only
    items whose severity is known: a framework gap carries none."""

    kinds: list[EvidenceKind] = Field(min_length=1)
    severity_at_least: Severity | None = None
    critical_outcome: bool = False

    @field_validator("kinds")
    @classmethod
    def _kinds_once(cls, kinds: list[EvidenceKind]) -> list[EvidenceKind]:
        reject_duplicates(list(kinds))
        return kinds

    def matches(self, item: EvidenceItem) -> bool:
        if item.kind not in self.kinds:
            return False
        if self.critical_outcome and not item.critical_outcome:
            return False
        if self.severity_at_least is None:
            return True
        return (
            item.severity is not None
            and SEVERITY_RANK[item.severity] >= SEVERITY_RANK[self.severity_at_least]
        )


class LikelihoodRule(Strict):
    id: RuleId
    steps: int = Field(ge=-MAX_STEPS, le=MAX_STEPS, strict=True)
    reason: Text
    when: RuleCondition

    @field_validator("steps")
    @classmethod
    def _moves(cls, steps: int) -> int:
        if steps == 0:
            raise ValueError("steps must not be 0: a rule that moves nothing explains nothing")
        return steps


class LikelihoodRules(Strict):
    version: Version
    matrix: Version
    baseline: RiskId
    rules: list[LikelihoodRule] = Field(min_length=1, max_length=MAX_RULES)

    @model_validator(mode="after")
    def _ids_unique(self) -> LikelihoodRules:
        reject_duplicates([rule.id for rule in self.rules])
        return self

    def check_against(self, matrix: RiskMatrix) -> None:
        if self.matrix != matrix.version:
            raise RiskDataMismatch(
                "matrix", f"rules are for matrix {self.matrix}, not {matrix.version}"
            )
        if self.baseline not in matrix.likelihood_ids():
            raise RiskDataMismatch(
                "baseline",
                f"{self.baseline} is not a likelihood level of matrix {matrix.version}",
            )


def _natural(ref: str) -> tuple[tuple[int, int | str], ...]:
    # finding:2 before finding:12, so the text reads in the order a person expects.
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", ref)
    )


class MatchedRule(Strict):
    rule_id: str
    steps: int
    reason: str
    refs: tuple[str, ...]

    def text(self, signed: bool) -> str:
        shown = ", ".join(self.refs[:REFS_SHOWN])
        if len(self.refs) > REFS_SHOWN:
            shown += f" and {len(self.refs) - REFS_SHOWN} more"
        sign = f", {self.steps:+d}" if signed else ""
        return f"{self.reason} ({shown}{sign})"


def _steps(count: int) -> str:
    return STEP_WORDS.get(abs(count), f"{abs(count)} steps")


class Suggestion(Strict):
    baseline: str
    likelihood: str
    because: tuple[MatchedRule, ...]
    # What the matched rules add, and how far the likelihood moved: less when held at an end.
    net_steps: int
    moved_steps: int

    @property
    def clamped(self) -> bool:
        return self.moved_steps != self.net_steps

    def explain(self) -> str:
        """One line of plain text: the suggestion, from what, by how much and why."""
        if not self.because:
            return f"{self.likelihood}: the baseline; no evidence matched a rule"
        if self.moved_steps == 0:
            moved = f"{self.baseline} unchanged"
        else:
            verb = "raised" if self.moved_steps > 0 else "lowered"
            moved = f"{self.baseline} {verb} {_steps(self.moved_steps)}"
        signed = any(rule.steps < 0 for rule in self.because) and any(
            rule.steps > 0 for rule in self.because
        )
        reasons = "; ".join(rule.text(signed) for rule in self.because)
        held = ""
        if self.clamped:
            end = "top" if self.net_steps > 0 else "bottom"
            held = f"; the rules add {self.net_steps:+d}, held at the {end} of the scale"
        return f"{self.likelihood}: {moved} because {reasons}{held}"


def suggest(rules: LikelihoodRules, matrix: RiskMatrix, evidence: list[EvidenceItem]) -> Suggestion:
    """baseline + the steps of every rule some item matches (each rule once), held to the scale.
    The same evidence in any order gives the same suggestion."""
    matched: list[MatchedRule] = []
    for rule in rules.rules:
        refs = sorted({item.ref for item in evidence if rule.when.matches(item)}, key=_natural)
        if refs:
            matched.append(
                MatchedRule(rule_id=rule.id, steps=rule.steps, reason=rule.reason, refs=refs)
            )
    net = sum(rule.steps for rule in matched)
    likelihood = matrix.step(rules.baseline, net)
    moved = matrix.likelihood(likelihood).score - matrix.likelihood(rules.baseline).score
    return Suggestion(
        baseline=rules.baseline,
        likelihood=likelihood,
        because=tuple(matched),
        net_steps=net,
        moved_steps=moved,
    )
