"""The notification policy (posture/data/notifications.yaml): retries, timeouts, defaults."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.findings import Severity
from kernel.data_yaml import load_data_yaml
from posture.storage.models.notifications import DeliveryMode

OTHER_CATEGORY = "other"


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    attempts: int = Field(ge=1, le=50)
    base_delay_seconds: float = Field(ge=0, le=86_400)
    max_delay_seconds: float = Field(ge=0, le=7 * 86_400)

    def delay(self, attempts_made: int) -> timedelta:
        """The wait after the `attempts_made`-th failed attempt: doubling, capped."""
        seconds = self.base_delay_seconds * 2 ** max(attempts_made - 1, 0)
        return timedelta(seconds=min(seconds, self.max_delay_seconds))


class NotificationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    retry: RetryPolicy
    request_timeout_seconds: float = Field(gt=0, le=120)
    pool_size: int = Field(ge=1, le=32)
    batch_size: int = Field(ge=1, le=10_000)
    turn_seconds: float = Field(gt=0, le=3600)
    max_body_bytes: int = Field(ge=1024, le=16 * 1024 * 1024)
    claim_seconds: float = Field(gt=0, le=3600)
    max_event_age_hours: float = Field(gt=0)
    default_modes: dict[Severity, DeliveryMode]
    categories: dict[str, list[str]]
    digest_hour_utc: int = Field(ge=0, le=23)

    @model_validator(mode="after")
    def _sound(self) -> NotificationPolicy:
        if set(self.default_modes) != set(Severity):
            raise ValueError("default_modes must give a mode for every severity")
        if OTHER_CATEGORY in self.categories:
            raise ValueError(f"{OTHER_CATEGORY!r} is the category of codes matching none")
        if self.claim_seconds <= self.request_timeout_seconds * 2:
            raise ValueError("claim_seconds must exceed twice request_timeout_seconds")
        return self

    def category(self, code: str) -> str:
        for name, prefixes in self.categories.items():
            if any(code.startswith(prefix) for prefix in prefixes):
                return name
        return OTHER_CATEGORY

    def category_names(self) -> list[str]:
        return [*self.categories, OTHER_CATEGORY]

    def digest_day_ready(self, day_end: datetime, now: datetime) -> bool:
        return now >= day_end + timedelta(hours=self.digest_hour_utc)


@cache
def notification_policy() -> NotificationPolicy:
    text = (resources.files("posture") / "data" / "notifications.yaml").read_text("utf-8")
    return NotificationPolicy.model_validate(load_data_yaml(text))
