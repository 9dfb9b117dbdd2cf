"""Pydantic models for what users submit; a failed form names the field and what to fix."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kernel.errors import ValidationFailed
from supplier_portal.product_fields import ProductFields
from supplier_portal.vocabulary import DeploymentModel, ProductCategory

__all__ = [
    "AnswerForm",
    "DeploymentModel",
    "FormModel",
    "ProductCategory",
    "ProductForm",
    "parse_form",
]

Form = TypeVar("Form", bound=BaseModel)


class FormModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# The product form is the product's one field set; the partner API derives its body from it too.
ProductForm = ProductFields


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
