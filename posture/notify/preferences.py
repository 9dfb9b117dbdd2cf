"""A person's notification preferences: which categories, which severities at once or in the
daily digest, and whether e-mail is sent at all. Each person sees and changes only their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import Severity
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal, visible_organisations
from posture.notify.policy import NotificationPolicy, notification_policy
from posture.storage.models import NotificationPreference
from posture.storage.models.notifications import DeliveryMode

MANAGE = "notification.manage"


@dataclass(frozen=True)
class EffectivePreference:
    email_enabled: bool
    modes: dict[Severity, DeliveryMode]
    muted_categories: frozenset[str]

    def mode_for(self, severity: str, category: str) -> DeliveryMode:
        if not self.email_enabled or category in self.muted_categories:
            return DeliveryMode.OFF
        try:
            return self.modes[Severity(severity)]
        except ValueError:
            return DeliveryMode.OFF


def effective_preference(
    row: NotificationPreference | None, policy: NotificationPolicy
) -> EffectivePreference:
    """What applies: the person's choices over the policy's defaults."""
    modes = dict(policy.default_modes)
    if row is None:
        return EffectivePreference(True, modes, frozenset())
    for severity, mode in (row.severity_modes or {}).items():
        if severity in Severity.__members__.values() and mode in DeliveryMode.__members__.values():
            modes[Severity(severity)] = DeliveryMode(mode)
    return EffectivePreference(row.email_enabled, modes, frozenset(row.muted_categories or ()))


class PreferenceForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    email_enabled: bool = True
    modes: dict[Severity, DeliveryMode] = Field(default_factory=dict)
    muted_categories: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("muted_categories")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        known = notification_policy().category_names()
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {known}")
        return sorted(set(value))


def my_preference(session: Session, principal: Principal) -> EffectivePreference:
    visible_organisations(principal, MANAGE)  # PermissionDenied for a role without it
    row = session.scalar(
        select(NotificationPreference).where(NotificationPreference.user_id == principal.user_id)
    )
    return effective_preference(row, notification_policy())


def save_my_preference(
    session: Session, principal: Principal, form: PreferenceForm | dict, now: datetime
) -> EffectivePreference:
    """Replace the signed-in person's own preferences; there is no way to name anyone else's."""
    visible_organisations(principal, MANAGE)
    try:
        chosen = form if isinstance(form, PreferenceForm) else PreferenceForm.model_validate(form)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "preferences"
        raise ValidationFailed(f"notification preferences: {where}: {first['msg']}") from None
    modes = {**notification_policy().default_modes, **chosen.modes}
    row = session.scalar(
        select(NotificationPreference).where(NotificationPreference.user_id == principal.user_id)
    )
    if row is None:
        row = NotificationPreference(user_id=principal.user_id)
        session.add(row)
    row.email_enabled = chosen.email_enabled
    row.severity_modes = {s.value: m.value for s, m in modes.items()}
    row.muted_categories = list(chosen.muted_categories)
    row.updated_at = now
    session.flush()
    record(
        session,
        actor_of(principal),
        "notification.preferences_changed",
        "user",
        principal.user_id,
        {
            "user_id": principal.user_id,
            "email_enabled": row.email_enabled,
            "modes": [f"{s}:{m}" for s, m in sorted(row.severity_modes.items())],
            "muted_categories": row.muted_categories,
        },
    )
    return effective_preference(row, notification_policy())
