"""From alerts to deliveries: each alert raised since the cursor becomes an e-mail (or a digest
entry) for each person of its organisation who wants it, and a webhook delivery for each of the
organisation's endpoints that takes its severity.

Idempotent: every delivery and digest entry has a unique key ("email:<alert>:<user>", ...) and is
inserted with ON CONFLICT DO NOTHING, so two runs -- at once or one after the other -- enqueue
each once. The cursor only saves work; alerts raised within the policy's rescan window are read
again each run, so an alert committed after a higher id was read is not skipped.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
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
    NotificationCursor,
    NotificationDelivery,
    NotificationPreference,
    User,
    WebhookEndpoint,
)
from posture.storage.models.notifications import DeliveryChannel, DeliveryMode, DeliveryStatus

CURSOR = "alerts"
MAX_ALERTS_PER_RUN = 5000
# Who is told of an alert: the members of the organisation holding it whose role may see it.
SEE_ALERTS = "check.read"


def _cursor(session: Session, now: datetime) -> int:
    session.execute(
        upsert_insert(session, NotificationCursor)
        .values(name=CURSOR, last_alert_id=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    return int(
        session.scalar(
            select(NotificationCursor.last_alert_id).where(NotificationCursor.name == CURSOR)
        )
        or 0
    )


def _new_alerts(
    session: Session, after_id: int, policy: NotificationPolicy, now: datetime
) -> list[Alert]:
    oldest = now - timedelta(hours=policy.max_event_age_hours)
    recent = now - timedelta(minutes=policy.rescan_minutes)
    return list(
        session.scalars(
            select(Alert)
            .where(
                or_(Alert.id > after_id, Alert.raised_at >= recent),
                Alert.raised_at >= oldest,
                Alert.raised_at <= now,
            )
            .order_by(Alert.id)
            .limit(MAX_ALERTS_PER_RUN)
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
    """Turn alerts raised since the cursor into deliveries; a JSON-able summary."""
    policy = policy or notification_policy()
    with transaction(sessions) as session:
        after = _cursor(session, now)
        alerts = _new_alerts(session, after, policy, now)
        rows, entries = plan_for_alerts(session, alerts, policy, now, bool(settings.smtp_host))
        made = _insert(session, NotificationDelivery, rows)
        digested = _insert(session, DigestEntry, [{**e} for e in entries])
        highest = max((alert.id for alert in alerts), default=after)
        session.execute(
            update(NotificationCursor)
            .where(NotificationCursor.name == CURSOR, NotificationCursor.last_alert_id < highest)
            .values(last_alert_id=highest, updated_at=now)
        )
        if made or digested:
            record(
                session,
                SYSTEM,
                "notification.enqueued",
                "notification_cursor",
                CURSOR,
                {
                    "alerts": sorted({a.id for a in alerts}),
                    "deliveries": sorted(made),
                    "digest_entries": len(digested),
                },
            )
    return {
        "alerts_read": len(alerts),
        "deliveries_enqueued": len(made),
        "digest_entries": len(digested),
        "cursor": highest,
        "email": "on" if settings.smtp_host else "off (ASSURE_SMTP_HOST unset)",
    }
