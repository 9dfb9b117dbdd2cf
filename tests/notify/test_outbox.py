"""The outbox under pressure and its rules: twenty workers at once send each delivery once;
preferences are each person's own; the published event schema is the one events follow."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import func, insert, select

from checks.egress import EgressPolicy
from kernel.errors import ValidationFailed
from posture.identity.permissions import PermissionDenied
from posture.notify.deliver import deliver_due
from posture.notify.enqueue import MAX_ALERTS_PER_RUN, enqueue_new_alerts
from posture.notify.events import alert_event, event_json_schema
from posture.notify.outbox_views import list_deliveries
from posture.notify.preferences import my_preference, save_my_preference
from posture.notify.webhooks import register_endpoint
from posture.storage.engine import transaction
from posture.storage.models import Alert, NotificationDelivery, NotificationPreference
from posture.storage.models.enums import Role
from posture.storage.models.notifications import DeliveryMode, DeliveryStatus
from tests.notify.conftest import NOW, Db, loopback_settings, raise_alert
from tests.notify.peers import smtp_server, webhook_receiver

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "notification-event.schema.json"


def test_twenty_workers_at_once_send_each_delivery_once(backend_world: Db, policy) -> None:
    world, sessions, settings = backend_world
    with smtp_server() as (mailbox, port), webhook_receiver() as receiver:
        settings = loopback_settings(settings, port)
        with transaction(sessions) as session:
            register_endpoint(
                session,
                world.principal(Role.SUPPLIER_ADMIN),
                world.orgs["s1"].organisation_id,
                {"url": receiver.url},
                EgressPolicy.loopback_only(),
                NOW,
            )
        for n in range(8):
            raise_alert(sessions, world, "critical", f"Alert {n}")
        enqueued = enqueue_new_alerts(sessions, settings, NOW, policy)["deliveries_enqueued"]
        assert enqueued == 8 * 3  # two people by e-mail, one endpoint
        start = threading.Barrier(20)
        results: list[dict] = []

        def worker() -> None:
            start.wait()
            results.append(deliver_due(sessions, settings, NOW, policy))

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert len(results) == 20
    assert sum(r["delivered"] for r in results) == enqueued
    hooks = Counter(r.headers["Assure-Delivery"] for r in receiver.received)
    mails = Counter(m["Message-ID"] for _, _, m in mailbox.messages)
    assert len(hooks) == 8
    assert set(hooks.values()) == {1}
    assert len(mails) == 16
    assert set(mails.values()) == {1}
    with sessions() as session:
        statuses = session.execute(
            select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
        ).all()
    assert statuses == [(DeliveryStatus.DELIVERED, enqueued)]


def test_enqueueing_twice_at_once_enqueues_once(backend_world: Db, policy) -> None:
    world, sessions, settings = backend_world
    settings = loopback_settings(settings, 25)
    raise_alert(sessions, world, "critical")
    results: list[dict] = []
    start = threading.Barrier(6)

    def run() -> None:
        start.wait()
        results.append(enqueue_new_alerts(sessions, settings, NOW, policy))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["deliveries_enqueued"] for r in results) == 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationDelivery)) == 2


def test_an_alert_committed_after_a_higher_one_was_notified_is_still_notified(
    backend_world: Db, policy
) -> None:
    """A transaction that took a low id and committed long after a higher id was notified (on
    PostgreSQL, ids are taken at insert and seen at commit) is not skipped."""
    world, sessions, settings = backend_world
    settings = loopback_settings(settings, 25)
    raise_alert(sessions, world, "critical", "Seen first", alert_id=9000)
    assert enqueue_new_alerts(sessions, settings, NOW, policy)["deliveries_enqueued"] == 2
    late = NOW + timedelta(hours=1)
    raise_alert(sessions, world, "critical", "Committed late", at=NOW, alert_id=4000)
    outcome = enqueue_new_alerts(sessions, settings, late, policy)
    assert outcome["alerts_read"] == 1
    assert outcome["deliveries_enqueued"] == 2
    with sessions() as session:
        keys = set(session.scalars(select(NotificationDelivery.dedupe_key)))
    assert {key.split(":")[1] for key in keys} == {"9000", "4000"}


def test_a_burst_larger_than_one_run_is_worked_through_run_by_run(
    backend_world: Db, policy
) -> None:
    world, sessions, settings = backend_world
    burst = MAX_ALERTS_PER_RUN + 200
    organisation_id = world.orgs["s1"].organisation_id
    with transaction(sessions) as session:
        session.execute(
            insert(Alert),
            [
                {
                    "organisation_id": organisation_id,
                    "code": "MON-PQ-LOST",
                    "severity": "low",
                    "title": f"Alert {n}",
                    "advice": "Restore hybrid ML-KEM key exchange.",
                    "detail": {},
                    "raised_at": NOW - timedelta(minutes=1),
                }
                for n in range(burst)
            ],
        )
    first = enqueue_new_alerts(sessions, settings, NOW, policy)
    second = enqueue_new_alerts(sessions, settings, NOW, policy)
    third = enqueue_new_alerts(sessions, settings, NOW, policy)
    assert (first["alerts_read"], first["more_waiting"]) == (MAX_ALERTS_PER_RUN, True)
    assert (second["alerts_read"], second["more_waiting"]) == (200, False)
    assert third["alerts_read"] == 0
    with sessions() as session:
        waiting = session.scalar(
            select(func.count()).select_from(Alert).where(Alert.notified_at.is_(None))
        )
    assert waiting == 0


def test_an_alert_too_old_when_first_seen_is_marked_and_not_sent(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    settings = loopback_settings(settings, 25)
    stale = NOW - timedelta(hours=policy.max_event_age_hours + 1)
    raise_alert(sessions, world, "critical", at=stale)
    outcome = enqueue_new_alerts(sessions, settings, NOW, policy)
    assert (outcome["alerts_read"], outcome["alerts_too_old"]) == (1, 1)
    assert outcome["deliveries_enqueued"] == 0
    assert enqueue_new_alerts(sessions, settings, NOW, policy)["alerts_read"] == 0


def test_preferences_are_each_persons_own(world_db: Db) -> None:
    world, sessions, _ = world_db
    member, admin = world.principal(Role.SUPPLIER_MEMBER), world.principal(Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:
        save_my_preference(
            session, member, {"modes": {"high": "digest"}, "muted_categories": ["risk"]}, NOW
        )
    with sessions() as session:
        mine, theirs = my_preference(session, member), my_preference(session, admin)
        rows = session.scalars(select(NotificationPreference)).all()
    assert mine.modes["high"] is DeliveryMode.DIGEST
    assert mine.modes["critical"] is DeliveryMode.IMMEDIATE
    assert mine.muted_categories == {"risk"}
    # The other person still has the defaults: critical and high at once, the rest in the digest.
    assert theirs.modes["high"] is DeliveryMode.IMMEDIATE
    assert theirs.modes["medium"] is DeliveryMode.DIGEST
    assert [row.user_id for row in rows] == [member.user_id]


@pytest.mark.parametrize(
    "form",
    [{"modes": {"high": "hourly"}}, {"muted_categories": ["nonsense"]}, {"user_id": 1}],
    ids=["bad-mode", "bad-category", "someone-else"],
)
def test_bad_preferences_are_refused_whole(world_db: Db, form: dict) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session, pytest.raises(ValidationFailed):
        save_my_preference(session, world.principal(Role.SUPPLIER_MEMBER), form, NOW)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationPreference)) == 0


def test_only_admins_see_deliveries(world_db: Db) -> None:
    world, sessions, _ = world_db
    with sessions() as session:
        for role in (Role.SUPPLIER_MEMBER, Role.FORCE_ASSESSOR, Role.NATIONAL_ASSESSOR):
            with pytest.raises(PermissionDenied):
                list_deliveries(session, world.principal(role))


def test_the_published_schema_is_the_one_events_follow(world_db: Db) -> None:
    world, sessions, _ = world_db
    assert json.loads(SCHEMA_FILE.read_text("utf-8")) == event_json_schema()
    alert_id = raise_alert(sessions, world, "medium", "Tab\there")
    with sessions() as session:
        event = alert_event(session, session.get(Alert, alert_id)).model_dump(mode="json")
    jsonschema.Draft202012Validator(event_json_schema()).validate(event)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "specversion": "0.3"}, event_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**event, "data": {**event["data"], "email": "x@y"}}, event_json_schema()
        )
