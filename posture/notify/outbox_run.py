"""One scheduled turn of the outbox: every alert not yet notified is planned, then deliveries are
sent a batch at a time until none is due or the turn's time is spent. A day's first sweeps on a
large estate raise thousands of alerts at once; one batch a turn would take an hour to tell
people, while a turn that worked without end would overlap the next."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.notify.deliver import deliver_due
from posture.notify.enqueue import enqueue_new_alerts
from posture.notify.policy import NotificationPolicy, notification_policy

COUNTED = ("claimed", "delivered", "retrying", "dead")


def run_outbox(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    policy: NotificationPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Plan and send until done or `policy.turn_seconds` have passed; a JSON-able summary."""
    policy = policy or notification_policy()
    deadline = clock() + policy.turn_seconds
    planned = {"alerts_read": 0, "deliveries_enqueued": 0, "digest_entries": 0}
    while True:
        made = enqueue_new_alerts(sessions, settings, now, policy)
        for key in planned:
            planned[key] += made[key]
        if not made["more_waiting"] or clock() >= deadline:
            break
    sent = dict.fromkeys(COUNTED, 0)
    batches = 0
    while clock() < deadline:
        batch = deliver_due(sessions, settings, now, policy)
        batches += 1
        for key in COUNTED:
            sent[key] += batch[key]
        if batch["claimed"] < policy.batch_size:
            break  # nothing more is due
    return {
        "enqueued": {**planned, "more_waiting": made["more_waiting"]},
        "delivered": {**sent, "batches": batches},
        "email": made["email"],
    }
