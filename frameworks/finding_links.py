"""Which outcomes of one framework version each finding bears on.

The links are declared once, per framework version, in the check catalogue
(checks/data/findings.yaml). This module reads them for one framework, refuses a link to an
outcome the framework does not have, and derives what the framework no longer lists by hand:
which kinds of check bear on each outcome (the kinds that can raise a finding linked to it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from checks.catalogue import kinds as check_kinds
from checks.findings import (
    FindingCatalogue,
    FindingLinks,
    framework_version_key,
    split_framework_version,
)
from frameworks.schema import Framework
from frameworks.urns import outcome_urn

Problem = tuple[str, str]  # (where in findings.yaml, what is wrong)


def _located(catalogue: FindingCatalogue) -> Iterable[tuple[str, FindingLinks]]:
    for code, definition in catalogue.findings.items():
        yield f"findings.{code}", definition
    for prefix, family in catalogue.families.items():
        yield f"families.{prefix}", family


@dataclass(frozen=True)
class FindingLinkTable:
    """The links of one framework version, by finding code and by family prefix."""

    framework_id: str
    version: str
    outcomes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    raised_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    families: frozenset[str] = frozenset()
    blocking: frozenset[str] = frozenset()  # codes whose run could not assess its subject
    # Asked once per check run when scoring; the links never change after loading.
    _by_kind: dict[str, tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def outcomes_for(self, code: str) -> tuple[str, ...]:
        """The outcomes a finding with this code bears on (its family's, for a code another tool
        named), in this framework version; none for a code the catalogue does not know."""
        if code in self.outcomes and code not in self.families:
            return self.outcomes[code]
        prefixes = [prefix for prefix in self.families if code.startswith(prefix)]
        return self.outcomes[max(prefixes, key=len)] if prefixes else ()

    def outcomes_for_kind(self, kind: str) -> tuple[str, ...]:
        """Every outcome a check of this kind can raise a finding against."""
        known = self._by_kind.get(kind)
        if known is None:
            found: dict[str, None] = {}
            for code, kinds in self.raised_by.items():
                if kind in kinds:
                    found.update(dict.fromkeys(self.outcomes[code]))
            known = self._by_kind[kind] = tuple(found)
        return known

    def kinds_for(self, outcome_id: str) -> tuple[str, ...]:
        """The kinds of check that bear on an outcome, in the check catalogue's order."""
        kinds = {
            k
            for code, ks in self.raised_by.items()
            if outcome_id in self.outcomes[code]
            for k in ks
        }
        return tuple(kind for kind in check_kinds() if kind in kinds)

    def codes_for(self, outcome_id: str) -> tuple[str, ...]:
        """The defined finding codes linked to an outcome (families left out)."""
        return tuple(
            code
            for code, linked in self.outcomes.items()
            if outcome_id in linked and code not in self.families
        )


def link_problems(catalogue: FindingCatalogue, framework: Framework) -> list[Problem]:
    """Links naming this framework version that point at an outcome it does not have."""
    key = framework_version_key(framework.framework_id, framework.version)
    known = {outcome.id for outcome in framework.outcomes()}
    problems = []
    for where, links in _located(catalogue):
        for outcome_id in links.outcomes_in(framework.framework_id, framework.version):
            if outcome_id not in known:
                problems.append(
                    (
                        f"{where}.outcomes.{key}",
                        f"links to unknown outcome {outcome_id}: {framework.framework_id} "
                        f"{framework.version} has no such outcome",
                    )
                )
    return problems


def version_problems(
    catalogue: FindingCatalogue, shipped: Iterable[tuple[str, str]]
) -> list[Problem]:
    """Links naming a framework version that is not shipped, and shipped versions of a linked
    framework that no finding links to (a new version needs its links declared, or no check
    would bear on it)."""
    shipped = set(shipped)
    named: set[tuple[str, str]] = set()
    problems = []
    for where, links in _located(catalogue):
        for key in links.outcomes:
            framework_version = split_framework_version(key)
            named.add(framework_version)
            if framework_version not in shipped:
                problems.append(
                    (f"{where}.outcomes.{key}", f"links to {key}, which is not a shipped framework")
                )
    linked_frameworks = {framework_id for framework_id, _ in named}
    for framework_id, version in sorted(shipped - named):
        if framework_id in linked_frameworks:
            key = framework_version_key(framework_id, version)
            problems.append(("findings", f"no finding links to {key}; declare its links"))
    return problems


def link_table(catalogue: FindingCatalogue, framework: Framework) -> FindingLinkTable:
    framework_id, version = framework.framework_id, framework.version
    every = catalogue.all_links()
    return FindingLinkTable(
        framework_id=framework_id,
        version=version,
        outcomes={code: links.outcomes_in(framework_id, version) for code, links in every.items()},
        raised_by={code: links.raised_by for code, links in every.items()},
        families=frozenset(catalogue.families),
        blocking=frozenset(
            code for code, definition in catalogue.findings.items() if definition.blocks_assessment
        ),
    )


def linked_outcome_urns(code: str, tables: Iterable[FindingLinkTable]) -> list[str]:
    """Every outcome a finding with this code bears on, by URN, across the framework versions
    whose links are given: labels alone are ambiguous once two frameworks link one finding."""
    return [
        outcome_urn(table.framework_id, table.version, outcome_id)
        for table in tables
        for outcome_id in table.outcomes_for(code)
    ]
