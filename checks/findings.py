"""Findings: a stable code, a severity, a title, the evidence seen, advice, and the framework
outcomes they bear on. Finding texts live in data/findings.yaml so the code only names them."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class FindingDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    severity: Severity
    title: str
    advice: str
    outcomes: list[str] = Field(default_factory=list)


class CheckFinding(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    severity: Severity
    title: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    advice: str
    outcome_ids: list[str] = Field(default_factory=list)


@cache
def finding_definitions() -> dict[str, FindingDefinition]:
    text = (resources.files("checks") / "data" / "findings.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return {code: FindingDefinition.model_validate(body) for code, body in raw.items()}


def finding(code: str, **evidence: Any) -> CheckFinding:
    definition = finding_definitions()[code]
    return CheckFinding(
        code=code,
        severity=definition.severity,
        title=definition.title,
        evidence=evidence,
        advice=definition.advice,
        outcome_ids=list(definition.outcomes),
    )
