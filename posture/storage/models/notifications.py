"""Notifications: people's preferences, organisations' webhook endpoints, and the delivery outbox
that e-mail and webhooks are sent from (posture.notify)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import enum_column


class DeliveryChannel(StrEnum):
    EMAIL = "email"  # one alert, sent as it is raised
    DIGEST = "digest"  # one e-mail per person per day listing that day's alerts
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # out of attempts: on the dead-letter list until someone redelivers it


class DeliveryMode(StrEnum):
    """How a person wants alerts of one severity: at once, in the daily digest, or not at all."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


class NotificationPreference(Base):
    """A person's own choices; absent, the policy's defaults apply
    (posture/data/notifications.yaml)."""

    __tablename__ = "notification_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # severity -> DeliveryMode value
    severity_modes: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)
    # event categories (the policy's) the person does not want at all
    muted_categories: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Severities (checks.findings.Severity values) this endpoint receives.
    severities: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DigestEntry(Base):
    """An alert waiting for a person's daily digest; the digest for that day is one delivery."""

    __tablename__ = "digest_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<user id>:<alert id>": one entry per person and alert however often enqueueing runs.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("notification_deliveries.id"))


class NotificationDelivery(Base):
    """One message to one recipient or endpoint, sent by `deliver_due` until delivered or out of
    attempts. `dedupe_key` makes enqueueing idempotent; `claim_token` and `claimed_until` make
    sure two workers never send the same delivery at once."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(96), unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel: Mapped[DeliveryChannel] = mapped_column(
        enum_column(DeliveryChannel, "delivery_channel")
    )
    # The tenant whose record this is: the endpoint's organisation, or the recipient's
    # organisation for the alert (e-mail); None for a digest, which is the person's own.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    digest_day: Mapped[date | None] = mapped_column(Date)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why the last attempt failed, in the platform's words: never a header, body or secret.
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
