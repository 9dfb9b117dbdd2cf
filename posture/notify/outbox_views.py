"""The outbox as admins see it: deliveries and the dead-letter list, and redelivery.

A platform admin sees every delivery; an organisation's admin sees the webhook deliveries to its
own endpoints only (a person's e-mails are theirs, not their organisation's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, visible_organisations
from posture.notify.webhooks import shown_url
from posture.storage.models import NotificationDelivery, WebhookEndpoint
from posture.storage.models.notifications import DeliveryChannel, DeliveryStatus

READ = "delivery.read"
REDELIVER = "delivery.redeliver"


@dataclass(frozen=True)
class DeliveryView:
    id: int
    channel: str
    status: str
    event_id: str
    alert_id: int | None
    organisation_id: int | None
    endpoint: str | None
    user_id: int | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status_code: int | None
    updated_at: datetime


def _scoped(query: Select, principal: Principal, permission: str) -> Select:
    visible = visible_organisations(principal, permission)
    if visible is None:
        return query
    return query.where(
        NotificationDelivery.channel == DeliveryChannel.WEBHOOK,
        NotificationDelivery.organisation_id.in_(visible),
    )


def list_deliveries(
    session: Session,
    principal: Principal,
    status: DeliveryStatus | None = None,
    limit: int = 200,
    delivery_id: int | None = None,
) -> list[DeliveryView]:
    query = (
        select(NotificationDelivery, WebhookEndpoint.url)
        .outerjoin(WebhookEndpoint, WebhookEndpoint.id == NotificationDelivery.endpoint_id)
        .order_by(NotificationDelivery.updated_at.desc(), NotificationDelivery.id.desc())
        .limit(min(max(limit, 1), 1000))
    )
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    if delivery_id is not None:
        query = query.where(NotificationDelivery.id == delivery_id)
    return [
        DeliveryView(
            d.id,
            d.channel.value,
            d.status.value,
            d.event_id,
            d.alert_id,
            d.organisation_id,
            shown_url(url) if url else None,
            d.user_id,
            d.attempts,
            d.next_attempt_at,
            d.last_error,
            d.last_status_code,
            d.updated_at,
        )
        for d, url in session.execute(_scoped(query, principal, READ))
    ]


def dead_letters(session: Session, principal: Principal, limit: int = 200) -> list[DeliveryView]:
    return list_deliveries(session, principal, DeliveryStatus.DEAD, limit)


def redeliver(
    session: Session, principal: Principal, delivery_id: int, now: datetime
) -> DeliveryView:
    """Put a dead-lettered delivery back in the outbox with its attempts reset; a webhook's
    address is vetted again when it is sent."""
    delivery = session.scalar(
        _scoped(
            select(NotificationDelivery).where(NotificationDelivery.id == delivery_id),
            principal,
            REDELIVER,
        )
    )
    if delivery is None:
        raise NotFound("delivery not found")
    if delivery.status is not DeliveryStatus.DEAD:
        raise ValidationFailed("delivery: only a dead-lettered delivery can be redelivered")
    delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
    delivery.next_attempt_at, delivery.updated_at = now, now
    delivery.claim_token = delivery.claimed_until = None
    record(
        session,
        actor_of(principal),
        "notification.redelivered",
        "notification_delivery",
        delivery.id,
        {
            "delivery_id": delivery.id,
            "channel": delivery.channel.value,
            "endpoint_id": delivery.endpoint_id,
        },
        organisation_id=delivery.organisation_id,
    )
    session.flush()
    return list_deliveries(session, principal, delivery_id=delivery.id)[0]
