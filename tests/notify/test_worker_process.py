"""A real worker runs the notification schedule: an alert's e-mail reaches a loopback SMTP
server, its webhook reaches a loopback receiver with a signature the public key verifies, and a
receiver that keeps answering 500 ends in the dead-letter list without holding the others."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from checks.egress import EgressPolicy
from kernel.clock import utcnow
from posture.audit import Actor
from posture.jobs.queue import build_queue
from posture.notify.enqueue import enqueue_new_alerts
from posture.notify.policy import notification_policy
from posture.notify.signing import verify_request
from posture.notify.webhooks import register_endpoint
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from posture.storage.models.notifications import NotificationDelivery
from tests.notify.conftest import Db, loopback_settings, raise_alert
from tests.notify.peers import smtp_server, webhook_receiver
from tests.peers.workers import running_worker

DELIVER = "notify.deliver"


def test_a_worker_delivers_mail_and_signed_webhooks_and_dead_letters_a_failing_receiver(
    world_db: Db,
) -> None:
    world, sessions, settings = world_db
    now = utcnow()
    admin = world.principal(Role.SUPPLIER_ADMIN)
    s1 = world.orgs["s1"].organisation_id
    with (
        smtp_server() as (mailbox, port),
        webhook_receiver() as good,
        webhook_receiver(status=500) as failing,
    ):
        with transaction(sessions) as session:
            endpoints = [
                register_endpoint(
                    session, admin, s1, {"url": r.url}, EgressPolicy.loopback_only(), now
                ).id
                for r in (good, failing)
            ]
        raise_alert(sessions, world, "critical", at=now)
        smtp = loopback_settings(settings, port)
        enqueue_new_alerts(sessions, smtp, now)
        # The failing receiver has already refused every attempt but the last; its retry is due.
        last = notification_policy().retry.attempts - 1
        with transaction(sessions) as session:
            session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.endpoint_id == endpoints[1])
                .values(attempts=last, next_attempt_at=now - timedelta(seconds=1))
            )
        env = {
            "ASSURE_SMTP_HOST": "127.0.0.1",
            "ASSURE_SMTP_PORT": str(port),
            "ASSURE_SMTP_STARTTLS": "false",
            "ASSURE_SMTP_FROM": "assure@example.police.uk",
        }
        with running_worker(settings, extra_env=env):
            outcome = (
                build_queue(settings)
                .run_schedule_now(DELIVER, "cli", Actor("cli"))
                .get(blocking=True, timeout=120)
            )
    assert (outcome["ran"], outcome["status"]) == (True, "succeeded"), outcome
    assert [m["Subject"] for _, _, m in mailbox.messages]
    assert all(m["Subject"].startswith("[critical]") for _, _, m in mailbox.messages)
    assert len(good.received) == 1
    public = platform_keys(settings).public().ed25519
    request = good.received[0]
    verify_request(public, request.headers, request.body, int(request.headers["Assure-Timestamp"]))
    assert len(failing.received) == 1
    with sessions() as session:
        states = dict(
            session.execute(
                select(NotificationDelivery.endpoint_id, NotificationDelivery.status).where(
                    NotificationDelivery.endpoint_id.in_(endpoints)
                )
            ).all()
        )
    assert {endpoint: status.value for endpoint, status in states.items()} == {
        endpoints[0]: "delivered",
        endpoints[1]: "dead",
    }
