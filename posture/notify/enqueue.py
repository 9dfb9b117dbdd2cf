"""From alerts to deliveries: each alert not yet notified becomes an e-mail (or a digest entry)
for each person of its organisation who wants it, and a webhook delivery for each of the
organisation's endpoints that takes its severity; then it is marked notified.

The mark is on the alert itself, not a cursor over ids: an alert committed after a higher id was
read (a long transaction on PostgreSQL) is still unmarked and found by the next run, and a burst
larger than one run is worked through in id order, a run at a time. Idempotent: every delivery
and digest entry has a unique key ("email:<alert>:<user>", ...) and is inserted with ON CONFLICT
DO NOTHING, and PostgreSQL runs at once take disjoint alerts (SKIP LOCKED).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.audit import SYSTEM, record
from posture.identity.permissions import permission_table
from posture.notify.events import event_id
from posture.notify.policy import NotificationPolicy, notification_policy
from posture.notify.preferences import effective_preference
from posture.storage.dialects import upsert_insert
from posture.storage.engine import transaction
from posture.storage.models import (
    Alert,
    DigestEntry,
    Membership,
    NotificationDelivery,
    NotificationPreference,
    User,
    WebhookEndpoint,
)
from posture.storage.models.notifications import DeliveryChannel, DeliveryMode, DeliveryStatus

MAX_ALERTS_PER_RUN = 5000
# Who is told of an alert: the members of the organisation holding it whose role may see it.
SEE_ALERTS = "check.read"


def _unnotified(session: Session, now: datetime) -> list[Alert]:
    """The oldest alerts not yet notified, raised by `now`, locked against another run."""
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.notified_at.is_(None), Alert.raised_at <= now)
            .order_by(Alert.id)
            .limit(MAX_ALERTS_PER_RUN)
            .with_for_update(skip_locked=True)
        )
    )


def alert_readers(session: Session, organisation_ids: set[int]) -> dict[int, list[int]]:
    """organisation id -> ids of its active members whose role may see its alerts."""
    roles = list(permission_table().permissions[SEE_ALERTS].grants)
    found: dict[int, set[int]] = defaultdict(set)
    for organisation_id, user_id in session.execute(
        select(Membership.organisation_id, Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id.in_(organisation_ids),
            Membership.role.in_(roles),
            User.is_active.is_(True),
        )
    ):
        found[organisation_id].add(user_id)
    return {key: sorted(value) for key, value in found.items()}


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    made: list[int] = []
    for start in range(0, len(rows), 500):
        made += session.scalars(
            upsert_insert(session, model)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(model.id)
        ).all()
    return made


def plan_for_alerts(
    session: Session, alerts: list[Alert], policy: NotificationPolicy, now: datetime, email: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The delivery rows and digest entries `alerts` call for (before de-duplication)."""
    organisations = {alert.organisation_id for alert in alerts}
    people = alert_readers(session, organisations) if email else {}
    user_ids = sorted({u for users in people.values() for u in users})
    preferences = {
        p.user_id: p
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
    }
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organisation_id.in_(organisations), WebhookEndpoint.active.is_(True)
        )
    ):
        endpoints[endpoint.organisation_id].append(endpoint)
    deliveries: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    # Every row names every column: a multi-row INSERT takes one shape.
    base = {
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "user_id": None,
        "endpoint_id": None,
    }
    stamps = {"created_at": now, "updated_at": now}
    for alert in alerts:
        category = policy.category(alert.code)
        for user_id in people.get(alert.organisation_id, []):
            chosen = effective_preference(preferences.get(user_id), policy)
            mode = chosen.mode_for(alert.severity, category)
            if mode is DeliveryMode.IMMEDIATE:
                deliveries.append(
                    {
                        **base,
                        **stamps,
                        "dedupe_key": f"email:{alert.id}:{user_id}",
                        "event_id": event_id(alert.id),
                        "alert_id": alert.id,
                        "channel": DeliveryChannel.EMAIL,
                        "organisation_id": alert.organisation_id,
                        "user_id": user_id,
                    }
                )
            elif mode is DeliveryMode.DIGEST:
                digests.append(
                    {
                        "dedupe_key": f"{user_id}:{alert.id}",
                        "user_id": user_id,
                        "alert_id": alert.id,
                        # The day the alert was noticed: a day's digest, once made, takes no more.
                        "day": now.date(),
                    }
                )
        for endpoint in endpoints.get(alert.organisation_id, []):
            if alert.severity in endpoint.severities:
                deliveries.append(
                    {
                        **base,
                        **stamps,
                        "dedupe_key": f"webhook:{alert.id}:{endpoint.id}",
                        "event_id": event_id(alert.id),
                        "alert_id": alert.id,
                        "channel": DeliveryChannel.WEBHOOK,
                        "organisation_id": alert.organisation_id,
                        "endpoint_id": endpoint.id,
                    }
                )
    return deliveries, digests


def enqueue_new_alerts(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    policy: NotificationPolicy | None = None,
) -> dict[str, Any]:
    """Turn the alerts not yet notified into deliveries, and mark them; a JSON-able summary.
    An alert older than the policy's max_event_age_hours when first seen is marked, not sent."""
    policy = policy or notification_policy()
    with transaction(sessions) as session:
        pending = _unnotified(session, now)
        oldest = now - timedelta(hours=policy.max_event_age_hours)
        alerts = [alert for alert in pending if alert.raised_at >= oldest]
        rows, entries = plan_for_alerts(session, alerts, policy, now, bool(settings.smtp_host))
        made = _insert(session, NotificationDelivery, rows)
        digested = _insert(session, DigestEntry, [{**e} for e in entries])
        session.execute(
            update(Alert)
            .where(Alert.id.in_([alert.id for alert in pending]), Alert.notified_at.is_(None))
            .values(notified_at=now)
            .execution_options(synchronize_session=False)
        )
        if made or digested:
            record(
                session,
                SYSTEM,
                "notification.enqueued",
                "notification_outbox",
                "alerts",
                {
                    "alerts": sorted({a.id for a in alerts}),
                    "deliveries": sorted(made),
                    "digest_entries": len(digested),
                },
            )
    return {
        "alerts_read": len(pending),
        "alerts_too_old": len(pending) - len(alerts),
        "deliveries_enqueued": len(made),
        "digest_entries": len(digested),
        # A full batch: more may be waiting, and the next run takes them.
        "more_waiting": len(pending) == MAX_ALERTS_PER_RUN,
        "email": "on" if settings.smtp_host else "off (ASSURE_SMTP_HOST unset)",
    }
