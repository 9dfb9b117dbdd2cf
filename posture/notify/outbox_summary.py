"""The outbox across the estate, for the platform's operator: how many deliveries wait, went or
died on each channel, how long the oldest has waited, and how many alerts are not yet planned.
Organisation admins see their own deliveries in the lists instead; this is the whole estate's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.identity.permissions import PermissionDenied, Principal, visible_organisations
from posture.notify.outbox_views import READ
from posture.storage.models import Alert, NotificationDelivery
from posture.storage.models.notifications import DeliveryChannel, DeliveryStatus

CHANNEL_WORDS = {
    DeliveryChannel.EMAIL: "E-mail, sent at once",
    DeliveryChannel.DIGEST: "Daily digest e-mail",
    DeliveryChannel.WEBHOOK: "Webhook",
}
STATUS_WORDS = {
    DeliveryStatus.PENDING: "Waiting",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.DEAD: "Dead letters",
}


@dataclass(frozen=True)
class OutboxSummary:
    counts: dict[tuple[DeliveryChannel, DeliveryStatus], int]
    oldest_pending_due: datetime | None
    alerts_unplanned: int

    def count(self, channel: DeliveryChannel, status: DeliveryStatus) -> int:
        return self.counts.get((channel, status), 0)

    def table(self) -> list[dict[str, str | int]]:
        """One row per channel, a column per status, in words."""
        return [
            {"Channel": CHANNEL_WORDS[channel]}
            | {STATUS_WORDS[status]: self.count(channel, status) for status in DeliveryStatus}
            for channel in DeliveryChannel
        ]


def outbox_summary(session: Session, principal: Principal) -> OutboxSummary:
    if visible_organisations(principal, READ) is not None:
        raise PermissionDenied("the outbox across the estate is for platform administrators")
    counts = {
        (channel, status): count
        for channel, status, count in session.execute(
            select(
                NotificationDelivery.channel, NotificationDelivery.status, func.count()
            ).group_by(NotificationDelivery.channel, NotificationDelivery.status)
        )
    }
    oldest = session.scalar(
        select(func.min(NotificationDelivery.next_attempt_at)).where(
            NotificationDelivery.status == DeliveryStatus.PENDING
        )
    )
    unplanned = session.scalar(
        select(func.count()).select_from(Alert).where(Alert.notified_at.is_(None))
    )
    return OutboxSummary(counts, oldest, unplanned or 0)
