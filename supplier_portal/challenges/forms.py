"""What managers, suppliers and judges submit, validated before anything is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from posture.scoring.bands import PostureBand
from supplier_portal.forms import FormModel

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Band(FormModel):
    min: int
    max: int
    label: str = Field(min_length=1, max_length=200)


class Criterion(FormModel):
    key: Key
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=2000)
    weight: int = Field(ge=1, le=100)
    scale_min: int = Field(default=0, ge=0, le=100)
    scale_max: int = Field(default=10, ge=1, le=100)
    bands: list[Band] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _bands_cover_scale(self) -> Criterion:
        if self.scale_min >= self.scale_max:
            raise ValueError(f"{self.key}: scale_min must be below scale_max")
        covered = sorted((b.min, b.max) for b in self.bands)
        expected = self.scale_min
        for low, high in covered:
            if low != expected or high < low:
                raise ValueError(
                    f"{self.key}: bands must cover {self.scale_min}-{self.scale_max} "
                    "without gaps or overlaps"
                )
            expected = high + 1
        if expected != self.scale_max + 1:
            raise ValueError(f"{self.key}: bands must reach {self.scale_max}")
        return self


class EligibilityQuestion(FormModel):
    key: Key
    text: str = Field(min_length=5, max_length=500)
    must_be_yes: bool = True


class ChallengeForm(FormModel):
    title: str = Field(min_length=5, max_length=200)
    problem_statement: str = Field(min_length=20, max_length=20000)
    phase: str = Field(pattern=r"^(feasibility|prototype|pilot)$")
    opens_at: datetime
    closes_at: datetime
    quality_threshold: float = Field(ge=0, le=100)
    assessors_per_entry: int = Field(ge=1, le=10)
    min_posture_band: PostureBand | None = None
    rubric: list[Criterion] = Field(min_length=1, max_length=20)
    eligibility: list[EligibilityQuestion] = Field(default_factory=list, max_length=20)

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone (times are stored in UTC)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChallengeForm:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        total = sum(c.weight for c in self.rubric)
        if total != 100:
            raise ValueError(f"rubric weights must total 100%, not {total}%")
        keys = [c.key for c in self.rubric]
        if len(keys) != len(set(keys)):
            raise ValueError("rubric criterion keys must be unique")
        return self


class EntryForm(FormModel):
    title: str = Field(min_length=5, max_length=200)
    proposal: str = Field(min_length=50, max_length=20000)
    product_id: int | None = None
    eligibility_answers: dict[str, bool] = Field(default_factory=dict)


class CriterionScore(FormModel):
    score: int
    comment: str = Field(min_length=10, max_length=5000)


class ScoreForm(FormModel):
    scores: dict[str, CriterionScore]
    in_scope: bool
    fund: bool
