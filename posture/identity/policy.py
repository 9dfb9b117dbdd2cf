"""Identity policy as data: lockout, throttling, session and token lifetimes, and MFA."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from posture.storage.models.enums import Role


class AddressThrottle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_failures: int = Field(ge=1, le=10_000)
    window_minutes: int = Field(ge=1, le=24 * 60)


class MfaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    required_roles: frozenset[Role]
    issuer: str = Field(min_length=1, max_length=100)
    totp_digits: int = Field(ge=6, le=8)
    totp_period_seconds: int = Field(ge=15, le=120)
    totp_valid_window: int = Field(ge=0, le=2)
    recovery_codes: int = Field(ge=4, le=20)
    pending_minutes: int = Field(ge=1, le=30)
    passkey_timeout_seconds: int = Field(ge=30, le=600)


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
    address_throttle: AddressThrottle
    mfa: MfaPolicy


@cache
def identity_policy() -> IdentityPolicy:
    text = (resources.files("posture.identity") / "policy.yaml").read_text("utf-8")
    return IdentityPolicy.model_validate(yaml.safe_load(text))
