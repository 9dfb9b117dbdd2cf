"""Sending the outbox: claim what is due, send it concurrently with bounded timeouts, record the
outcome; retry with exponential backoff (posture/data/notifications.yaml) and dead-letter what
runs out of attempts.

A delivery is sent by whoever claims it: a conditional UPDATE that only succeeds while the row
is pending and unclaimed (or its claim has lapsed), so two workers running `deliver_due` at
once never send the same delivery twice. The outcome is written only under the same claim.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from kernel.clock import utcnow
from kernel.settings import Settings
from posture.audit import SYSTEM, record
from posture.notify.enqueue import alert_readers
from posture.notify.events import alert_event
from posture.notify.messages import alert_email, digest_email
from posture.notify.policy import NotificationPolicy, notification_policy
from posture.notify.signing import signature_headers
from posture.notify.transport import SendFailed, post_webhook, send_email
from posture.platform_keys import platform_keys
from posture.storage.dialects import upsert_insert
from posture.storage.engine import transaction
from posture.storage.models import (
    Alert,
    DigestEntry,
    NotificationDelivery,
    User,
    WebhookEndpoint,
)
from posture.storage.models.notifications import DeliveryChannel, DeliveryStatus

log = logging.getLogger("assure.notify")


@dataclass(frozen=True)
class Outgoing:
    """One claimed delivery, ready to send: `send` does the I/O and nothing else."""

    delivery_id: int
    channel: DeliveryChannel
    send: Callable[[], None]


def _claim(
    sessions: sessionmaker[Session],
    policy: NotificationPolicy,
    now: datetime,
    channels: tuple[DeliveryChannel, ...],
) -> tuple[str, list[int]]:
    token = secrets.token_hex(16)
    unclaimed = or_(
        NotificationDelivery.claimed_until.is_(None), NotificationDelivery.claimed_until < now
    )
    due = and_(
        NotificationDelivery.status == DeliveryStatus.PENDING,
        NotificationDelivery.next_attempt_at <= now,
        NotificationDelivery.channel.in_(channels),
        unclaimed,
    )
    with transaction(sessions) as session:
        candidates = session.scalars(
            select(NotificationDelivery.id)
            .where(due)
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(policy.batch_size)
        ).all()
        if not candidates:
            return token, []
        # The WHERE is evaluated again on each row as it is updated: a row another worker
        # claimed in between no longer matches and is left to it.
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_(candidates), due)
            .values(
                claim_token=token,
                claimed_until=now + _lease(policy),
            )
            .execution_options(synchronize_session=False)
        )
    with sessions() as session:
        mine = session.scalars(
            select(NotificationDelivery.id).where(NotificationDelivery.claim_token == token)
        ).all()
    return token, sorted(mine)


def _alert_organisations(session: Session, delivery: NotificationDelivery) -> set[int]:
    """The organisations whose alerts the delivery carries."""
    if delivery.alert_id is not None:
        return set(
            session.scalars(select(Alert.organisation_id).where(Alert.id == delivery.alert_id))
        )
    return set(
        session.scalars(
            select(Alert.organisation_id)
            .join(DigestEntry, DigestEntry.alert_id == Alert.id)
            .where(DigestEntry.delivery_id == delivery.id)
        )
    )


def _lease(policy: NotificationPolicy) -> timedelta:
    """How long a claim holds: past the slowest whole batch (every round of the pool at its
    timeout, e-mail's watchdog allowing three), so a claim never lapses while its run is
    still sending and the next run cannot send the same message again."""
    rounds = -(-policy.batch_size // policy.pool_size)
    slowest = rounds * policy.request_timeout_seconds * 3 + 60
    return timedelta(seconds=max(policy.claim_seconds, slowest))


def _prepare(
    session: Session,
    delivery: NotificationDelivery,
    settings: Settings,
    policy: NotificationPolicy,
    egress: EgressPolicy,
    now: datetime,
) -> Callable[[], None]:
    """What sending `delivery` means, read from the database now; the I/O runs later."""
    timeout = policy.request_timeout_seconds
    if delivery.channel is DeliveryChannel.WEBHOOK:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        alert = session.get(Alert, delivery.alert_id)
        if endpoint is None or alert is None or not endpoint.active:
            raise SendFailed("the endpoint was disabled", permanent=True)
        body = alert_event(session, alert).body()
        _bounded(body, policy)
        keys, url, delivery_id = platform_keys(settings), endpoint.url, str(delivery.id)

        def send() -> None:
            # Signed as it leaves, not when the batch began: a receiver refuses stale stamps.
            stamp = int(utcnow().timestamp())
            headers = signature_headers(keys, stamp, delivery_id, body)
            _ok(post_webhook(url, headers, body, egress, timeout))

        return send
    user = session.get(User, delivery.user_id)
    if user is None or not user.is_active:
        raise SendFailed("the recipient's account is no longer active", permanent=True)
    # Membership is read again as the message leaves: someone who left the organisation since
    # the alert was raised (a retry hours later, the next morning's digest) is not sent it.
    readers = alert_readers(session, _alert_organisations(session, delivery))
    member_of = {org for org, users in readers.items() if user.id in users}
    if delivery.channel is DeliveryChannel.EMAIL:
        alert = session.get(Alert, delivery.alert_id)
        if alert is None:
            raise SendFailed("the alert no longer exists", permanent=True)
        if alert.organisation_id not in member_of:
            raise SendFailed("the recipient no longer belongs to the organisation", permanent=True)
        message = alert_email(
            settings.smtp_from, user.email, alert_event(session, alert), delivery.id
        )
    else:
        alerts = session.scalars(
            select(Alert)
            .join(DigestEntry, DigestEntry.alert_id == Alert.id)
            .where(DigestEntry.delivery_id == delivery.id)
            .order_by(Alert.raised_at, Alert.id)
        ).all()
        alerts = [alert for alert in alerts if alert.organisation_id in member_of]
        if not alerts:
            raise SendFailed("the recipient no longer belongs to the organisation", permanent=True)
        events = [alert_event(session, alert) for alert in alerts]
        day = delivery.digest_day or now.date()
        message = digest_email(settings.smtp_from, user.email, day, events, delivery.id)
    _bounded(message.as_bytes(), policy)
    return lambda: send_email(settings, egress, message, timeout)


def _ok(_: object) -> None:
    return None


def _bounded(body: bytes, policy: NotificationPolicy) -> None:
    if len(body) > policy.max_body_bytes:
        raise SendFailed(
            f"the message is {len(body)} bytes, over the policy's {policy.max_body_bytes}",
            permanent=True,
        )


def _attempt(send: Callable[[], None]) -> SendFailed | None:
    try:
        send()
    except SendFailed as failed:
        return failed
    except Exception as exc:  # a bug in one send must not lose the others' outcomes
        return SendFailed(f"unexpected error ({type(exc).__name__})")
    return None


def _record(
    sessions: sessionmaker[Session],
    delivery_id: int,
    token: str,
    failure: SendFailed | None,
    policy: NotificationPolicy,
    now: datetime,
) -> str:
    with transaction(sessions) as session:
        delivery = session.scalar(
            select(NotificationDelivery).where(
                NotificationDelivery.id == delivery_id, NotificationDelivery.claim_token == token
            )
        )
        if delivery is None:
            return "lost claim"
        delivery.attempts += 1
        delivery.claim_token, delivery.claimed_until, delivery.updated_at = None, None, now
        if failure is None:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
            delivery.last_error = None
            action = "notification.delivered"
        else:
            delivery.last_error, delivery.last_status_code = failure.reason, failure.status_code
            if failure.permanent or delivery.attempts >= policy.retry.attempts:
                delivery.status = DeliveryStatus.DEAD
                action = "notification.dead_lettered"
            else:
                delivery.next_attempt_at = now + policy.retry.delay(delivery.attempts)
                action = "notification.delivery_failed"
        record(
            session,
            SYSTEM,
            action,
            "notification_delivery",
            delivery.id,
            {
                "delivery_id": delivery.id,
                "channel": delivery.channel.value,
                "endpoint_id": delivery.endpoint_id,
                "attempts": delivery.attempts,
                "status": delivery.status.value,
                "status_code": delivery.last_status_code,
            },
            organisation_id=delivery.organisation_id,
        )
        return delivery.status.value


def _run(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    channels: tuple[DeliveryChannel, ...],
    policy: NotificationPolicy,
) -> dict[str, Any]:
    egress = EgressPolicy.from_settings(settings)
    token, claimed = _claim(sessions, policy, now, channels)
    outgoing: list[tuple[int, Callable[[], None] | SendFailed]] = []
    with sessions() as session:
        for delivery_id in claimed:
            delivery = session.get(NotificationDelivery, delivery_id)
            assert delivery is not None
            try:
                outgoing.append(
                    (delivery_id, _prepare(session, delivery, settings, policy, egress, now))
                )
            except SendFailed as failed:
                outgoing.append((delivery_id, failed))
            except Exception:  # one delivery that cannot be built must not stop the others
                log.exception("notification delivery %d cannot be prepared", delivery_id)
                outgoing.append(
                    (delivery_id, SendFailed("the message could not be built", permanent=True))
                )
    sends = [(i, s) for i, s in outgoing if not isinstance(s, SendFailed)]
    results: dict[int, SendFailed | None] = {i: s for i, s in outgoing if isinstance(s, SendFailed)}
    if sends:
        # Each send ends within its own timeout; the pool keeps one slow receiver from holding
        # the others back.
        with ThreadPoolExecutor(max_workers=min(policy.pool_size, len(sends))) as pool:
            for (delivery_id, _), failure in zip(
                sends, pool.map(_attempt, [s for _, s in sends]), strict=True
            ):
                results[delivery_id] = failure
    outcomes: dict[str, int] = {}
    for delivery_id in claimed:
        status = _record(sessions, delivery_id, token, results[delivery_id], policy, now)
        outcomes[status] = outcomes.get(status, 0) + 1
    return {
        "claimed": len(claimed),
        "delivered": outcomes.get(DeliveryStatus.DELIVERED.value, 0),
        "retrying": outcomes.get(DeliveryStatus.PENDING.value, 0),
        "dead": outcomes.get(DeliveryStatus.DEAD.value, 0),
        "delivery_ids": claimed,
    }


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    policy: NotificationPolicy | None = None,
) -> dict[str, Any]:
    """Send every delivery due by `now` (one batch); a JSON-able summary. `policy` replaces the
    shipped one (tests use few attempts and short timeouts)."""
    return _run(sessions, settings, now, tuple(DeliveryChannel), policy or notification_policy())


def _digest_days(
    session: Session, policy: NotificationPolicy, now: datetime
) -> list[tuple[int, date]]:
    waiting = session.execute(
        select(DigestEntry.user_id, DigestEntry.day)
        .where(DigestEntry.delivery_id.is_(None))
        .group_by(DigestEntry.user_id, DigestEntry.day)
        .order_by(DigestEntry.day, DigestEntry.user_id)
    ).all()
    ready = []
    for user_id, day in waiting:
        day_end = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(days=1)
        if policy.digest_day_ready(day_end, now):
            ready.append((user_id, day))
    return ready


def send_digests(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    policy: NotificationPolicy | None = None,
) -> dict[str, Any]:
    """Make one digest e-mail per person per finished day (idempotent: the digest of a person's
    day is one delivery, keyed by person and day), then send the digests due."""
    policy = policy or notification_policy()
    made = 0
    with transaction(sessions) as session:
        for user_id, day in _digest_days(session, policy, now):
            session.execute(
                upsert_insert(session, NotificationDelivery)
                .values(
                    dedupe_key=f"digest:{user_id}:{day.isoformat()}",
                    event_id=f"digest-{user_id}-{day.isoformat()}",
                    channel=DeliveryChannel.DIGEST,
                    user_id=user_id,
                    digest_day=day,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            delivery_id = session.scalar(
                select(NotificationDelivery.id).where(
                    NotificationDelivery.dedupe_key == f"digest:{user_id}:{day.isoformat()}"
                )
            )
            attached = session.execute(
                update(DigestEntry)
                .where(
                    DigestEntry.user_id == user_id,
                    DigestEntry.day == day,
                    DigestEntry.delivery_id.is_(None),
                )
                .values(delivery_id=delivery_id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if attached:
                made += 1
                record(
                    session,
                    SYSTEM,
                    "notification.digest_made",
                    "notification_delivery",
                    int(delivery_id or 0),
                    {"delivery_id": delivery_id, "user_id": user_id, "count": attached},
                )
    sent = _run(sessions, settings, now, (DeliveryChannel.DIGEST,), policy)
    return {"digests_made": made, **sent}
