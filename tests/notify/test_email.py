"""E-mail reaches a real SMTP server on loopback, once, with safe headers; the digest is one mail
per person per day; an SMTP host the egress policy refuses is never contacted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from posture.notify.deliver import deliver_due, send_digests
from posture.notify.enqueue import enqueue_new_alerts
from posture.notify.preferences import save_my_preference
from posture.storage.engine import transaction
from posture.storage.models import Membership, NotificationDelivery
from posture.storage.models.enums import Role
from posture.storage.models.notifications import DeliveryStatus
from tests.notify.conftest import NOW, Db, loopback_settings, raise_alert
from tests.notify.peers import smtp_server


def test_a_high_alert_is_mailed_at_once_to_the_suppliers_people(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    with smtp_server() as (mailbox, port):
        settings = loopback_settings(settings, port)
        raise_alert(sessions, world, "high")
        first = enqueue_new_alerts(sessions, settings, NOW, policy)
        again = enqueue_new_alerts(sessions, settings, NOW, policy)
        sent = deliver_due(sessions, settings, NOW, policy)
    assert first["deliveries_enqueued"] == 2  # the supplier's admin and member
    assert again["deliveries_enqueued"] == 0
    assert sent["delivered"] == 2
    recipients = sorted(rcpt for _, rcpts, _ in mailbox.messages for rcpt in rcpts)
    assert recipients == ["supplier_admin@example.police.uk", "supplier_member@example.police.uk"]
    sender, _, message = mailbox.messages[0]
    assert sender == "assure@example.police.uk"
    assert message["Subject"] == "[high] Post-quantum key exchange was lost"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "Restore hybrid ML-KEM key exchange." in body
    assert "secret-internal-host" not in body  # the alert's raw detail never leaves


def test_a_title_with_line_breaks_cannot_add_headers(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    hostile = "Lost\r\nBcc: attacker@evil.example\r\nX-Injected: yes\n\nbody"
    with smtp_server() as (mailbox, port):
        settings = loopback_settings(settings, port)
        raise_alert(sessions, world, "critical", hostile)
        enqueue_new_alerts(sessions, settings, NOW, policy)
        assert deliver_due(sessions, settings, NOW, policy)["delivered"] == 2
    for _, recipients, message in mailbox.messages:
        assert "attacker@evil.example" not in " ".join(recipients)
        assert message["Bcc"] is None
        assert message["X-Injected"] is None
        assert "\n" not in message["Subject"]
        assert message["Subject"].startswith("[critical] Lost Bcc: attacker@evil.example")


def test_medium_alerts_go_in_one_daily_digest(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    with smtp_server() as (mailbox, port):
        settings = loopback_settings(settings, port)
        raise_alert(sessions, world, "medium", "First medium alert")
        raise_alert(sessions, world, "low", "Second, low alert")
        enqueued = enqueue_new_alerts(sessions, settings, NOW, policy)
        assert enqueued["deliveries_enqueued"] == 0
        assert enqueued["digest_entries"] == 4  # two alerts, two people
        assert deliver_due(sessions, settings, NOW, policy)["claimed"] == 0
        assert send_digests(sessions, settings, NOW, policy)["digests_made"] == 0  # day not over
        next_morning = NOW + timedelta(days=1)
        made = send_digests(sessions, settings, next_morning, policy)
        again = send_digests(sessions, settings, next_morning + timedelta(hours=1), policy)
    assert made["digests_made"] == 2
    assert made["delivered"] == 2
    assert again["digests_made"] == 0
    assert len(mailbox.messages) == 2
    body = mailbox.messages[0][2].get_content()
    assert "First medium alert" in body
    assert "Second, low alert" in body
    assert mailbox.messages[0][2]["Subject"] == "PoliceTech Assure: 2 alerts on 07 Dec 2026"


def test_a_person_who_turns_email_off_gets_none(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    with transaction(sessions) as session:
        save_my_preference(
            session, world.principal(Role.SUPPLIER_MEMBER), {"email_enabled": False}, NOW
        )
    with smtp_server() as (mailbox, port):
        settings = loopback_settings(settings, port)
        raise_alert(sessions, world, "critical")
        enqueue_new_alerts(sessions, settings, NOW, policy)
        deliver_due(sessions, settings, NOW, policy)
    assert [r for _, rcpts, _ in mailbox.messages for r in rcpts] == [
        "supplier_admin@example.police.uk"
    ]


def test_an_smtp_host_the_egress_policy_refuses_is_never_contacted(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    with smtp_server() as (mailbox, port):
        allowed = loopback_settings(settings, port)
        refused = allowed.model_copy(update={"egress_allow": ()})  # loopback no longer allowed
        raise_alert(sessions, world, "critical")
        enqueue_new_alerts(sessions, allowed, NOW, policy)
        outcome = deliver_due(sessions, refused, NOW, policy)
    assert outcome["dead"] == 2
    assert mailbox.messages == []
    with sessions() as session:
        errors = {d.last_error for d in session.scalars(select(NotificationDelivery))}
        statuses = {d.status for d in session.scalars(select(NotificationDelivery))}
    assert statuses == {DeliveryStatus.DEAD}
    assert all("egress policy" in (e or "") for e in errors)


def test_someone_who_left_the_organisation_since_is_not_sent_its_alert(
    world_db: Db, policy
) -> None:
    world, sessions, settings = world_db
    with smtp_server() as (mailbox, port):
        settings = loopback_settings(settings, port)
        raise_alert(sessions, world, "high")
        assert enqueue_new_alerts(sessions, settings, NOW, policy)["deliveries_enqueued"] == 2
        with transaction(sessions) as session:
            session.execute(
                delete(Membership).where(
                    Membership.user_id == world.users[Role.SUPPLIER_MEMBER],
                    Membership.organisation_id == world.orgs["s1"].organisation_id,
                )
            )
        sent = deliver_due(sessions, settings, NOW, policy)
    assert (sent["delivered"], sent["dead"]) == (1, 1)
    recipients = [rcpt for _, rcpts, _ in mailbox.messages for rcpt in rcpts]
    assert recipients == ["supplier_admin@example.police.uk"]
    with sessions() as session:
        errors = session.scalars(
            select(NotificationDelivery.last_error).where(
                NotificationDelivery.status == DeliveryStatus.DEAD
            )
        ).all()
    assert errors == ["the recipient no longer belongs to the organisation"]
