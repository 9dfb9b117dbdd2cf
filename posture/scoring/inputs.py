"""What scoring reads: per subject (a force or a product), its answers and verified check levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class SubjectRef:
    kind: str  # "organisation" or "product"
    organisation_id: int
    product_id: int | None
    assessment_id: int | None
    label: str

    @property
    def key(self) -> str:
        return f"product:{self.product_id}" if self.product_id else f"org:{self.organisation_id}"


def listed_indicators(value: object) -> tuple[str, ...]:
    """The indicator ids an answer's stored list names. Writers store a list of strings; for
    anything else (an imported or hand-edited row) only the strings of a list count, so both
    scoring paths read the same claim and neither fails on it."""
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


@dataclass(frozen=True)
class AnswerRecord:
    indicators_met: tuple[str, ...]
    provenance: str
    answered_at: datetime
    not_applicable: bool = False
    justification: str = ""


@dataclass(frozen=True)
class CheckEvidence:
    """The level the latest automated checks allow for an outcome, and the finding behind it."""

    level: int  # 0 not achieved, 1 partially achieved, 2 achieved (no capping finding)
    checked_at: datetime
    # None: evidence the platform read from its own records, not a check run (a force's
    # supply chain from its portfolio, posture.scoring.supply_chain).
    check_run_id: int | None
    finding_code: str | None = None
    finding_title: str | None = None


@dataclass(frozen=True)
class SubjectAnswers:
    subject: SubjectRef
    profile_id: str
    answers: dict[str, AnswerRecord] = field(default_factory=dict)
    checks: dict[str, CheckEvidence] = field(default_factory=dict)


@dataclass(frozen=True)
class Estate:
    as_of: date
    subjects: list[SubjectAnswers]
