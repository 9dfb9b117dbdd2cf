"""Findings: a stable code, a severity, a title, the evidence seen, advice, and the framework
outcomes they bear on.

Every code is defined once, in data/findings.yaml: its texts, the kinds of check that raise it
(kinds in the check catalogue), and its links to framework outcomes, per framework version.
Scoring reads those links from here (frameworks/finding_links.py checks them against each
framework as it loads); nothing else declares which finding bears on which outcome. A check that
is registered rather than shipped may define its own findings in its spec, linked to nothing.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from checks.catalogue import FindingText, KindName, specs
from kernel.data_yaml import load_data_yaml

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "findings.yaml"


class Severity(StrEnum):
    """The one list of severities, least first: storage and the scoring policy use this one."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}

# A framework version as its data file names it: ptsbd-1.0 is frameworks/data/ptsbd/ptsbd-1.0.yaml
FRAMEWORK_VERSION = re.compile(r"^(?P<framework>[a-z0-9][a-z0-9-]*)-(?P<version>\d+\.\d+(\.\d+)?)$")
FrameworkVersion = Annotated[str, StringConstraints(pattern=FRAMEWORK_VERSION.pattern)]
OutcomeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")]


def framework_version_key(framework_id: str, version: str) -> str:
    return f"{framework_id}-{version}"


def split_framework_version(key: str) -> tuple[str, str]:
    match = FRAMEWORK_VERSION.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not a framework version such as ptsbd-1.0")
    return match["framework"], match["version"]


class FindingLinks(BaseModel):
    """Which kinds of check raise a finding and which framework outcomes it bears on."""

    # Built when the catalogue is first read, not when a process imports Severity.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    raised_by: tuple[KindName, ...] = Field(min_length=1)
    outcomes: dict[FrameworkVersion, tuple[OutcomeId, ...]] = Field(default_factory=dict)

    def outcomes_in(self, framework_id: str, version: str) -> tuple[str, ...]:
        return self.outcomes.get(framework_version_key(framework_id, version), ())

    def newest_outcome_ids(self) -> list[str]:
        """The outcomes it bears on in the newest linked version of each framework, for display
        beside the finding; scoring asks for a framework version's own links instead."""
        newest: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        for key, outcome_ids in self.outcomes.items():
            framework_id, version = split_framework_version(key)
            number = tuple(int(part) for part in version.split("."))
            if framework_id not in newest or number > newest[framework_id][0]:
                newest[framework_id] = (number, outcome_ids)
        return [o for _, outcome_ids in newest.values() for o in outcome_ids]


class FindingDefinition(FindingLinks):
    severity: Severity
    title: str = Field(min_length=1)
    advice: str = Field(min_length=1)
    # The run that raised it could not look at what it was asked to (nothing answered, the input
    # was unreadable, a sandbox limit stopped it), so its silence on an outcome proves nothing.
    blocks_assessment: bool = False


class FindingFamily(FindingLinks):
    """Findings another tool names, with its own code, title and severity (schemathesis for live
    API testing): the links of every code that starts with the family's prefix."""


class FindingCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    findings: dict[Code, FindingDefinition]
    families: dict[Code, FindingFamily] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _families_are_not_codes(self) -> FindingCatalogue:
        both = sorted(set(self.findings) & set(self.families))
        if both:
            raise ValueError(f"{', '.join(both)} is both a finding code and a family prefix")
        return self

    def links_of(self, code: str) -> FindingLinks | None:
        """A defined code's links, else those of the longest family prefix it starts with."""
        if code in self.findings:
            return self.findings[code]
        prefixes = [prefix for prefix in self.families if code.startswith(prefix)]
        return self.families[max(prefixes, key=len)] if prefixes else None

    def all_links(self) -> dict[str, FindingLinks]:
        return {**self.families, **self.findings}


class CheckFinding(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    severity: Severity
    title: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    advice: str
    outcome_ids: list[str] = Field(default_factory=list)


@cache
def finding_catalogue() -> FindingCatalogue:
    return FindingCatalogue.model_validate(load_data_yaml(CATALOGUE_FILE.read_text("utf-8")))


def family_outcome_ids(code: str) -> list[str]:
    """For a finding another tool named: the outcomes its code's family bears on."""
    links = finding_catalogue().links_of(code)
    return links.newest_outcome_ids() if links else []


def _registered_text(code: str) -> FindingText:
    for spec in specs():
        if code in spec.findings:
            return spec.findings[code]
    raise KeyError(code)


def finding(code: str, **evidence: Any) -> CheckFinding:
    """A finding defined in findings.yaml, or by a registered check's own spec (which links it
    to no outcome)."""
    definition = finding_catalogue().findings.get(code) or _registered_text(code)
    linked = definition if isinstance(definition, FindingDefinition) else None
    return CheckFinding(
        code=code,
        severity=definition.severity,
        title=definition.title,
        evidence=evidence,
        advice=definition.advice,
        outcome_ids=linked.newest_outcome_ids() if linked else [],
    )
