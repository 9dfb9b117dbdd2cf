"""The envelope every check returns: target, timing, score, sub-scores, findings, details."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from checks.catalogue import CheckResult, UnknownCheckKind, spec_for
from checks.findings import CheckFinding


class ReportStatus(StrEnum):
    COMPLETED = "completed"
    NOT_ASSESSABLE = "not_assessable"


class MilestoneStatus(BaseModel):
    id: str
    date: str
    title: str
    status: str  # met, not met, not assessed
    days_left: int


class CheckReport(BaseModel):
    kind: str
    target: str
    started_at: datetime
    finished_at: datetime
    status: ReportStatus
    score: float | None = None
    subscores: dict[str, float | None] = Field(default_factory=dict)
    milestones: list[MilestoneStatus] = Field(default_factory=list)
    findings: list[CheckFinding] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    def result(self) -> CheckResult | None:
        """The details as its kind's typed result; None for a kind whose details are still a
        plain dict, or one no longer in the catalogue."""
        try:
            model = spec_for(self.kind).result
        except UnknownCheckKind:
            return None
        return None if model is None else model.model_validate(self.details)
