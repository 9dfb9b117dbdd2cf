"""Identity policy as data: lockout, session and token lifetimes."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field


class IdentityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_failed_logins: int = Field(ge=1, le=100)
    lockout_minutes: int = Field(ge=1, le=24 * 60)
    session_idle_minutes: int = Field(ge=1, le=24 * 60)
    session_absolute_hours: int = Field(ge=1, le=7 * 24)
    api_token_default_minutes: int = Field(ge=1)
    api_token_max_minutes: int = Field(ge=1, le=24 * 60)
    api_token_issuer: str
    api_token_audience: str


@cache
def identity_policy() -> IdentityPolicy:
    text = (resources.files("posture.identity") / "policy.yaml").read_text("utf-8")
    return IdentityPolicy.model_validate(yaml.safe_load(text))
