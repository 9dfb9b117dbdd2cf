"""The register's form building blocks, defined once: the form base, its free-text types (plain
text, posture.plain_text), the matrix and threat ids, and reading a form from untrusted input
with a clear refusal."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from frameworks.risk.matrix import UnknownRiskId
from frameworks.risk.policy import risk_policy
from kernel.errors import ValidationFailed
from posture.plain_text import plain_text

Form = TypeVar("Form", bound=BaseModel)


def _likelihood_id(value: str) -> str:
    if value not in risk_policy().matrix.likelihood_ids():
        raise ValueError(f"{value!r} is not a likelihood of the risk matrix")
    return value


def _impact_id(value: str) -> str:
    if value not in {level.id for level in risk_policy().matrix.impact_levels}:
        raise ValueError(f"{value!r} is not an impact of the risk matrix")
    return value


def _threat_id(value: str) -> str:
    try:
        risk_policy().threats.threat(value)
    except UnknownRiskId as exc:
        raise ValueError(str(exc)) from exc
    return value


# The register's free text.
Title = plain_text(3, 200)
LongText = plain_text(1, 4000)
Description = plain_text(10, 4000)
Because = plain_text(10, 4000)
# A decision's reasons: long enough to say something a reviewer can check.
Reasons = plain_text(20, 4000)
Conditions = plain_text(0, 4000)
Likelihood = Annotated[str, StringConstraints(max_length=64), AfterValidator(_likelihood_id)]
Impact = Annotated[str, StringConstraints(max_length=64), AfterValidator(_impact_id)]
ThreatId = Annotated[str, StringConstraints(max_length=64), AfterValidator(_threat_id)]
RecordId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


class RiskForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def read_form(model: type[Form], data: dict[str, Any]) -> Form:
    """A form from untrusted input, or ValidationFailed naming the fields and what to fix."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            field = ".".join(str(part) for part in error["loc"]) or "form"
            problems.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
        raise ValidationFailed("; ".join(problems)) from exc
