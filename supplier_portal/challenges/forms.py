"""What managers, suppliers and judges submit, validated before anything is stored.

A manager builds the rubric, its bands and the eligibility questions in fields, not JSON, so a
refusal names the place in words ("criterion 2 (Feasibility), band 1, to: ...") rather than a
path such as rubric.1.bands.0.max. Keys are derived from titles where a form leaves them out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from kernel.errors import ValidationFailed
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
            raise ValueError("the lowest score must be below the highest score")
        covered = sorted((b.min, b.max) for b in self.bands)
        expected = self.scale_min
        for low, high in covered:
            if low != expected or high < low:
                raise ValueError(
                    f"bands must cover {self.scale_min}-{self.scale_max} "
                    "without gaps or overlaps, each from a score to the same or a higher one"
                )
            expected = high + 1
        if expected != self.scale_max + 1:
            raise ValueError(f"bands must reach the highest score, {self.scale_max}")
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

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        """Criteria a form leaves without a key get one from their title; questions, q1, q2..."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        rubric = data.get("rubric")
        if isinstance(rubric, list):
            taken = {c["key"] for c in rubric if isinstance(c, dict) and c.get("key")}
            data["rubric"] = [
                {**c, "key": _key_from(str(c.get("title", "")), taken)}
                if isinstance(c, dict) and not c.get("key")
                else c
                for c in rubric
            ]
        questions = data.get("eligibility")
        if isinstance(questions, list):
            taken = {q["key"] for q in questions if isinstance(q, dict) and q.get("key")}
            numbered = []
            for index, question in enumerate(questions, start=1):
                if isinstance(question, dict) and not question.get("key"):
                    key = f"q{index}"
                    while key in taken:
                        key += "_"
                    taken.add(key)
                    question = {**question, "key": key}
                numbered.append(question)
            data["eligibility"] = numbered
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ChallengeForm:
        if self.closes_at <= self.opens_at:
            raise ValueError("the closing time must be after the opening time")
        total = sum(c.weight for c in self.rubric)
        if total != 100:
            raise ValueError(f"rubric weights must total 100%, not {total}%")
        titles = [c.title.casefold() for c in self.rubric]
        if len(titles) != len(set(titles)):
            raise ValueError("each criterion needs its own title")
        keys = [c.key for c in self.rubric]
        if len(keys) != len(set(keys)):
            raise ValueError("rubric criterion keys must be unique")
        questions = [q.key for q in self.eligibility]
        if len(questions) != len(set(questions)):
            raise ValueError("eligibility question keys must be unique")
        return self


def _key_from(title: str, taken: set[str]) -> str:
    """A stored key for a criterion titled `title`, unique among `taken` (which it joins)."""
    base = re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_")[:28] or "criterion"
    if not base[0].isalpha():
        base = f"c_{base}"[:28]
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(key)
    return key


# Field names as a manager reads them on the form.
FIELD_WORDS = {
    "title": "title",
    "problem_statement": "problem statement",
    "phase": "phase",
    "opens_at": "opening time",
    "closes_at": "closing time",
    "quality_threshold": "quality threshold",
    "assessors_per_entry": "judges per entry",
    "min_posture_band": "minimum posture band",
    "rubric": "rubric",
    "eligibility": "eligibility questions",
    "description": "description",
    "weight": "weight",
    "scale_min": "lowest score",
    "scale_max": "highest score",
    "bands": "bands",
    "min": "from",
    "max": "to",
    "label": "label",
    "text": "question",
    "must_be_yes": "must be answered yes",
    "key": "title",
}


def _place(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """Where in the form a problem is, in words: criterion 2 (Feasibility), band 1, to."""
    words: list[str] = []
    items: Any = data
    for index, part in enumerate(loc):
        if isinstance(part, int):
            container = loc[index - 1] if index else ""
            item = items[part] if isinstance(items, list) and part < len(items) else {}
            if container == "rubric":
                title = item.get("title") if isinstance(item, dict) else None
                words[-1] = f"criterion {part + 1}" + (f" ({title})" if title else "")
            elif container == "bands":
                words[-1] = f"band {part + 1}"
            elif container == "eligibility":
                words[-1] = f"eligibility question {part + 1}"
            else:
                words.append(str(part + 1))
            items = item
        else:
            words.append(FIELD_WORDS.get(part, part.replace("_", " ")))
            items = items.get(part) if isinstance(items, dict) else None
    return ", ".join(words)


def parse_challenge_form(data: dict[str, Any]) -> ChallengeForm:
    """The challenge a manager described, or ValidationFailed naming each problem in words."""
    try:
        return ChallengeForm.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            message = error["msg"].removeprefix("Value error, ")
            place = _place(tuple(error["loc"]), data)
            problems.append(f"{place}: {message}" if place else message)
        raise ValidationFailed("; ".join(problems)) from exc


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
