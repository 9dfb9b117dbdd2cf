"""The reminder policy (posture/data/reminders.yaml): the days before an expiry that remind, and
the alert each kind of thing raises."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kernel.data_yaml import load_data_yaml

ReminderKind = Literal[
    "certificate",
    "certification",
    "evidence",
    "risk_acceptance",
    "outcome_exception",
    "passport",
    "assessment",
]


class KindRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    alert: str = Field(pattern=r"^[A-Z][A-Z0-9-]{2,31}$")
    expired: bool


class ReminderPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    days_before: tuple[int, ...] = Field(min_length=1, max_length=10)
    kinds: dict[ReminderKind, KindRule]

    @field_validator("days_before")
    @classmethod
    def _descending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 1 or day > 366 for day in value) or list(value) != sorted(set(value))[::-1]:
            raise ValueError("days from 366 down to 1, each once, furthest first")
        return value

    def threshold(self, days_left: int, kind: ReminderKind) -> int | None:
        """The nearest threshold `days_left` has reached (0: expired), or None for none yet."""
        if days_left <= 0:
            return 0 if self.kinds[kind].expired else None
        reached = [day for day in self.days_before if days_left <= day]
        return min(reached) if reached else None


@cache
def reminder_policy() -> ReminderPolicy:
    text = (resources.files("posture") / "data" / "reminders.yaml").read_text("utf-8")
    return ReminderPolicy.model_validate(load_data_yaml(text))
