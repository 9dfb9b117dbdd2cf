"""The passport policy (posture/data/passport.yaml): validity, and what suspends a passport."""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from checks.findings import Severity
from kernel.data_yaml import load_data_yaml


class PassportPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    validity_months: int = Field(ge=1, le=36)
    certificate_margin_days: int = Field(ge=0, le=90)
    revocation_list_hours: int = Field(ge=1, le=24 * 14)
    suspend_on_alerts: tuple[str, ...]
    suspend_on_severities: tuple[Severity, ...]
    max_document_bytes: int = Field(ge=16_384, le=4 * 1024 * 1024)
    max_revocation_list_bytes: int = Field(ge=65_536, le=256 * 1024 * 1024)


@cache
def passport_policy() -> PassportPolicy:
    text = (resources.files("posture") / "data" / "passport.yaml").read_text("utf-8")
    return PassportPolicy.model_validate(load_data_yaml(text))
