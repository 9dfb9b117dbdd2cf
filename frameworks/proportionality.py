"""Which target profile a subject must be assessed against, derived from its facts by rules kept
with the framework's profiles (`profiles-<version>.yaml`, `proportionality`), never chosen.

For each kind of subject the rules name its profiles from least to most demanding; every rule
whose condition holds asks for at least its profile, and the most demanding one asked for wins.
The derivation explains itself from the facts that decided it, so two subjects with the same
facts get the same profile and the same words."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from frameworks.deployment_facts import (
    CLASSIFICATION_RANK,
    LABELS,
    DataLocation,
    DeploymentFacts,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
    VettingLevel,
)
from frameworks.schema import Audience, Identifier, Profile, ProfileSet, Strict

HOSTED = {
    DeploymentModel.SAAS: "is hosted as software as a service",
    DeploymentModel.PAAS: "is hosted on a platform as a service",
    DeploymentModel.ON_PREMISES: "is installed on the force's own infrastructure",
    DeploymentModel.HYBRID: "is hosted partly by the supplier (hybrid)",
}


# What a rule says of a fact the subject has not declared: the rule holds, because unknown is not
# safe, and the explanation tells the supplier which fact to declare.
UNDECLARED = {
    "classification": "the classification of the data it holds",
    "data_locations": "where it holds data",
    "vetting": "the vetting its staff need",
    "forces_served": "how many forces it serves",
    "records_held": "how many records it holds",
}


class _Undeclared(str):
    """A reason that is a fact not declared: explanations gather these into one phrase."""

    __slots__ = ("fact",)

    def __new__(cls, fact: str) -> _Undeclared:
        made = super().__new__(cls, f"does not declare {UNDECLARED[fact]}")
        made.fact = fact
        return made


def _listed(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


class FactCondition(Strict):
    """Facts that must all hold. Each given part must hold; at least one part is given."""

    hosting_in: list[DeploymentModel] | None = Field(default=None, min_length=1)
    networks_any: list[PoliceNetwork] | None = Field(default=None, min_length=1)
    national_systems_any: list[NationalSystem] | None = Field(default=None, min_length=1)
    classification_at_least: SecurityClassification | None = None
    sensitive_caveat: bool | None = None
    locations_outside: list[DataLocation] | None = Field(default=None, min_length=1)
    vetting_in: list[VettingLevel] | None = Field(default=None, min_length=1)
    forces_at_least: int | None = Field(default=None, ge=1)
    records_at_least: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _says_something(self) -> FactCondition:
        if not self.model_fields_set:
            raise ValueError("a condition names at least one fact")
        return self

    def networks_any_ordered(self) -> list[PoliceNetwork]:
        return [n for n in PoliceNetwork if n in (self.networks_any or ())]

    def reasons(self, facts: DeploymentFacts) -> list[str] | None:
        """The phrases that explain why the condition holds, in a fixed order, or None when it
        does not hold. A part that reads an undeclared fact holds."""
        said: list[str] = []
        if self.hosting_in is not None:
            if facts.hosting not in self.hosting_in:
                return None
            said.append(HOSTED[facts.hosting])
        if self.networks_any is not None:
            reached = [LABELS[n] for n in self.networks_any_ordered() if n in facts.police_networks]
            if not reached:
                return None
            said.append(f"connects to {_listed(reached)}")
        if self.national_systems_any is not None:
            used = [
                LABELS[s]
                for s in NationalSystem
                if s in facts.national_systems and s in self.national_systems_any
            ]
            if not used:
                return None
            said.append(f"has access to {_listed(used)}")
        if self.classification_at_least is not None or self.sensitive_caveat is not None:
            if facts.classification is None:
                said.append(_Undeclared("classification"))
            else:
                if self.classification_at_least is not None and (
                    CLASSIFICATION_RANK[facts.classification]
                    < CLASSIFICATION_RANK[self.classification_at_least]
                ):
                    return None
                if (
                    self.sensitive_caveat is not None
                    and facts.sensitive_caveat != self.sensitive_caveat
                ):
                    return None
                said.append(f"holds {facts.classification_label()}")
        if self.locations_outside is not None:
            if facts.locations_undeclared():
                said.append(_Undeclared("data_locations"))
            else:
                outside = [loc for loc in DataLocation if loc in facts.data_locations]
                outside = [loc for loc in outside if loc not in self.locations_outside]
                if not outside:
                    return None
                said.append(f"holds data in {_listed([LABELS[loc] for loc in outside])}")
        if self.vetting_in is not None:
            if facts.vetting is None:
                said.append(_Undeclared("vetting"))
            elif facts.vetting not in self.vetting_in:
                return None
            elif facts.vetting is VettingLevel.NOT_NEEDED:
                said.append("needs no staff vetting")
            else:
                said.append(f"needs staff with {LABELS[facts.vetting]} vetting")
        if self.forces_at_least is not None:
            if facts.forces_served is None:
                said.append(_Undeclared("forces_served"))
            elif facts.forces_served < self.forces_at_least:
                return None
            else:
                said.append(f"serves {facts.forces_served} forces")
        if self.records_at_least is not None:
            if facts.records_held is None:
                said.append(_Undeclared("records_held"))
            elif facts.records_held < self.records_at_least:
                return None
            else:
                said.append(f"holds {facts.records_held:,} records")
        return said


class ProportionalityRule(Strict):
    profile: Identifier
    when: FactCondition


class SubjectRules(Strict):
    """The rules for one kind of subject: its profiles, least demanding first."""

    order: list[Identifier] = Field(min_length=1)
    default: Identifier
    rules: list[ProportionalityRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_its_own_profiles(self) -> SubjectRules:
        if len(set(self.order)) != len(self.order):
            raise ValueError("order: a profile is listed twice")
        if self.default not in self.order:
            raise ValueError(f"default: {self.default} is not in order")
        for index, rule in enumerate(self.rules):
            if rule.profile not in self.order:
                raise ValueError(f"rules[{index}].profile: {rule.profile} is not in order")
        return self

    def rank(self, profile_id: str) -> int:
        return self.order.index(profile_id)


class Proportionality(Strict):
    supplier: SubjectRules | None = None
    force: SubjectRules | None = None

    def for_subject(self, subject: Audience) -> SubjectRules | None:
        return self.supplier if subject is Audience.SUPPLIER else self.force


class RuledProfileSet(ProfileSet):
    """A profiles file with the rules that choose among its profiles."""

    proportionality: Proportionality | None = None


def rule_problems(profiles: dict[str, Profile], rules: Proportionality) -> list[tuple[str, str]]:
    """(where, what) for each rule set that does not name exactly its subject's profiles."""
    problems = []
    for subject in (Audience.SUPPLIER, Audience.FORCE):
        subject_rules = rules.for_subject(subject)
        if subject_rules is None:
            continue
        theirs = {p.id for p in profiles.values() if p.subject is subject}
        named = set(subject_rules.order)
        if named != theirs:
            problems.append(
                (
                    f"proportionality.{subject.value}.order",
                    f"must list exactly the {subject.value} profiles "
                    f"({', '.join(sorted(theirs)) or 'none'}), "
                    f"not {', '.join(subject_rules.order)}",
                )
            )
    return problems


@dataclass(frozen=True)
class Derivation:
    """The profile a subject must meet and why."""

    profile_id: str
    because: tuple[str, ...]
    rules_version: str

    def explain(self) -> str:
        if not self.because:
            return f"{self.profile_id}: no rule of {self.rules_version} asks for more"
        return f"{self.profile_id} because {'; '.join(self.because)}"


def derive(rules: SubjectRules, facts: DeploymentFacts, rules_version: str) -> Derivation:
    """The most demanding profile any holding rule asks for, explained by every holding rule
    that asks for it."""
    asked: dict[str, list[str]] = {}
    # Rules that hold only because facts are undeclared are explained once, naming the facts.
    unknown: dict[str, set[str]] = {}
    for rule in rules.rules:
        reasons = rule.when.reasons(facts)
        if reasons is None:
            continue
        if all(isinstance(r, _Undeclared) for r in reasons):
            unknown.setdefault(rule.profile, set()).update(r.fact for r in reasons)  # type: ignore[attr-defined]
            asked.setdefault(rule.profile, [])
        else:
            asked.setdefault(rule.profile, []).append("it " + " and ".join(reasons))
    if not asked:
        return Derivation(rules.default, (), rules_version)
    winner = max(asked, key=rules.rank)
    if rules.rank(winner) < rules.rank(rules.default):
        return Derivation(rules.default, (), rules_version)
    because = list(dict.fromkeys(asked[winner]))
    if winner in unknown:
        missing = [UNDECLARED[fact] for fact in UNDECLARED if fact in unknown[winner]]
        because.append(f"it does not declare {_listed(missing)}")
    return Derivation(winner, tuple(because), rules_version)
