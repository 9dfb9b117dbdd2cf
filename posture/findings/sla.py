"""The remediation SLAs as data (posture/data/finding_sla.yaml): days to fix, by severity."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.findings import SEVERITY_RANK, Severity
from kernel.data_yaml import load_data_yaml


class FindingSla(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    lowest_tracked: Severity
    days: dict[Severity, int]

    def tracks(self, severity: Severity | str) -> bool:
        """Whether a finding of this severity is a fault to fix (tracked, with a due date) rather
        than an observation (a post-quantum group offered, quantum-safe cryptography listed)."""
        return SEVERITY_RANK[Severity(severity)] >= SEVERITY_RANK[self.lowest_tracked]

    @model_validator(mode="after")
    def _every_severity_worse_sooner(self) -> FindingSla:
        missing = [s.value for s in Severity if self.tracks(s) and s not in self.days]
        if missing:
            raise ValueError(f"days: no SLA for {', '.join(missing)}")
        untracked = [s.value for s in self.days if not self.tracks(s)]
        if untracked:
            raise ValueError(f"days: {', '.join(untracked)} is below lowest_tracked")
        if any(not 1 <= d <= 3650 for d in self.days.values()):
            raise ValueError("days: each SLA is 1 to 3650 days")
        ordered = sorted(self.days.items(), key=lambda item: SEVERITY_RANK[item[0]])
        if any(later[1] > earlier[1] for earlier, later in itertools.pairwise(ordered)):
            raise ValueError("days: a more severe finding may not have longer to be fixed")
        return self

    def due_from(self, severity: Severity | str, start: datetime) -> datetime:
        return start + timedelta(days=self.days[Severity(severity)])


def parse_finding_sla(text: str) -> FindingSla:
    return FindingSla.model_validate(load_data_yaml(text))


@cache
def finding_sla() -> FindingSla:
    return parse_finding_sla(
        (resources.files("posture") / "data" / "finding_sla.yaml").read_text("utf-8")
    )
