"""Pydantic models for what users submit; a failed form names the field and what to fix."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from posture.errors import ValidationFailed

Form = TypeVar("Form", bound=BaseModel)


class ProductCategory(StrEnum):
    RECORDS_MANAGEMENT = "records_management"
    DIGITAL_EVIDENCE = "digital_evidence"
    BODY_WORN_VIDEO = "body_worn_video"
    COMMAND_AND_CONTROL = "command_and_control"
    MOBILE = "mobile"
    ANALYTICS = "analytics"
    OTHER = "other"


class DeploymentModel(StrEnum):
    SAAS = "saas"
    ON_PREMISES = "on_premises"
    HYBRID = "hybrid"


class FormModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Certification(FormModel):
    scheme: str = Field(pattern=r"^(cyber_essentials|cyber_essentials_plus|iso27001)$")
    expires: date


class ProductForm(FormModel):
    name: str = Field(min_length=2, max_length=200)
    category: ProductCategory
    deployment_model: DeploymentModel
    description: str = Field(default="", max_length=5000)
    data_locations: list[str] = Field(default_factory=list, max_length=10)
    max_classification: str | None = Field(
        default=None, pattern=r"^(official|official-sensitive|secret)$"
    )
    certifications: list[Certification] = Field(default_factory=list, max_length=5)
    support_ends: date | None = None
    end_of_life: date | None = None
    api_available: bool = False
    connected_networks: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _locations(self) -> ProductForm:
        unknown = set(self.data_locations) - {"uk", "eea", "us", "other"}
        if unknown:
            raise ValueError(f"data_locations: unknown {sorted(unknown)}; use uk, eea, us, other")
        return self

    def listing_fields(self) -> dict[str, object]:
        return {
            "data_locations": self.data_locations,
            "max_classification": self.max_classification,
            "certifications": [c.model_dump(mode="json") for c in self.certifications],
            "support_ends": self.support_ends,
            "end_of_life": self.end_of_life,
            "api_available": self.api_available,
            "connected_networks": self.connected_networks,
        }


class AnswerForm(FormModel):
    outcome_id: str = Field(min_length=1, max_length=32)
    indicators_met: list[str] = Field(default_factory=list, max_length=64)
    not_applicable: bool = False
    justification: str = Field(default="", max_length=2000)
    comment: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _justified(self) -> AnswerForm:
        if self.not_applicable and not self.justification:
            raise ValueError("justification: say why the outcome does not apply")
        if self.not_applicable and self.indicators_met:
            raise ValueError("indicators_met: an outcome marked not applicable has no indicators")
        return self


def parse_form(model: type[Form], data: dict[str, object]) -> Form:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            field = ".".join(str(part) for part in error["loc"]) or "form"
            problems.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
        raise ValidationFailed("; ".join(problems)) from exc
