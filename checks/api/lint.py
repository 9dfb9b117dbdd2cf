"""Run every lint rule over a loaded description and turn hits into findings."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from checks.api.model import OpenApiView
from checks.api.rules import RULES, Hit
from checks.api.spec import LoadedSpec
from checks.findings import CheckFinding, Severity, finding, finding_catalogue

MAX_HITS_PER_RULE = 200


class RuleDefinition(BaseModel):
    """How a lint rule's findings count; what they say is in findings.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    part: str
    gate: bool = False
    owasp: str


class LiveDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    part: str
    gate: bool = False


class ScoringRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    severity_penalty: dict[Severity, float]
    parts: dict[str, float]
    provisional_below_coverage: float


class ApiRuleBook(BaseModel):
    model_config = ConfigDict(frozen=True)
    rules: dict[str, RuleDefinition]
    live: dict[str, LiveDefinition]
    scoring: ScoringRules

    def live_rule(self, code: str) -> LiveDefinition:
        for key in (code, code[:3]):
            if key in self.live:
                return self.live[key]
        return LiveDefinition(part="runtime")


@cache
def rule_book() -> ApiRuleBook:
    text = (resources.files("checks") / "data" / "api_rules.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    live, scoring = raw.pop("live"), raw.pop("scoring")
    book = ApiRuleBook(rules=raw, live=live, scoring=scoring)
    missing = set(RULES) - set(book.rules)
    if missing:
        raise RuntimeError(f"lint rules without metadata: {sorted(missing)}")
    undefined = set(RULES) - set(finding_catalogue().findings)
    if undefined:
        raise RuntimeError(f"lint rules without a finding in findings.yaml: {sorted(undefined)}")
    return book


def rule_finding(rule_id: str, where: str, evidence: dict[str, Any]) -> CheckFinding:
    owasp = rule_book().rules[rule_id].owasp
    return finding(rule_id, **{"pointer": where, "owasp": owasp, **evidence})


def capped(hits: Iterable[Hit]) -> list[Hit]:
    """At most MAX_HITS_PER_RULE hits of one rule. The rest are still counted (the rules are
    generators, so counting stays linear) and the last hit kept says how many there were, so a
    capped list is never read as the whole story."""
    kept: list[Hit] = []
    total = 0
    for hit in hits:
        total += 1
        if total <= MAX_HITS_PER_RULE:
            kept.append(hit)
    if total > MAX_HITS_PER_RULE:
        where, evidence = kept[-1]
        kept[-1] = (where, {**evidence, "truncated": True, "total": total})
    return kept


def lint(spec: LoadedSpec) -> list[CheckFinding]:
    if not spec.valid:
        return [rule_finding("API-000", "/", {"errors": spec.validity_errors})]
    base_uri = spec.source if spec.source.startswith(("http://", "https://")) else ""
    view = OpenApiView(spec.document, spec.remote, base_uri)
    findings = []
    for rule_id, check in RULES.items():
        for where, evidence in capped(check(view)):
            findings.append(rule_finding(rule_id, where, evidence))
    for reference in sorted(view.unresolved):
        findings.append(rule_finding("API-022", "/", {"ref": reference}))
    return findings
