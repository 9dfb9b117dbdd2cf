"""Signed webhooks to real receivers on loopback: the signature verifies with the public key
alone; a receiver that answers 500 or hangs is retried, then dead-lettered, without holding up
a healthy one; private addresses are refused at registration and again at delivery."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta

import jsonschema
import pytest
from sqlalchemy import select

from checks.egress import EgressPolicy
from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound
from posture.notify.deliver import deliver_due
from posture.notify.enqueue import enqueue_new_alerts
from posture.notify.events import event_json_schema
from posture.notify.outbox_run import run_outbox
from posture.notify.outbox_views import dead_letters, list_deliveries, redeliver
from posture.notify.signing import SignatureRefused, verify_request
from posture.notify.webhooks import endpoint_view, list_endpoints, register_endpoint
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, NotificationDelivery
from posture.storage.models.enums import Role
from posture.storage.models.notifications import DeliveryStatus
from tests.notify.conftest import NOW, Db, loopback_settings, raise_alert
from tests.notify.peers import webhook_receiver

LOOPBACK = EgressPolicy.loopback_only()


def _register(sessions, world, url: str, egress: EgressPolicy = LOOPBACK, org: str = "s1") -> int:
    role = Role.SUPPLIER_ADMIN if org.startswith("s") else Role.SIRO
    with transaction(sessions) as session:
        return register_endpoint(
            session,
            world.principal(role, org),
            world.orgs[org].organisation_id,
            {"url": url, "description": "SOC intake"},
            egress,
            NOW,
        ).id


def test_a_webhook_arrives_signed_and_verifies_with_the_public_key_only(
    world_db: Db, policy
) -> None:
    world, sessions, settings = world_db
    settings = loopback_settings(settings)
    with webhook_receiver() as receiver:
        _register(sessions, world, receiver.url)
        alert_id = raise_alert(sessions, world, "high")
        enqueue_new_alerts(sessions, settings, NOW, policy)
        assert deliver_due(sessions, settings, NOW, policy)["delivered"] == 1
    [request] = receiver.received
    assert request.path == "/hooks/assure?token=receivers-secret"
    public = platform_keys(settings).public()  # what /v1/passport-keys publishes
    # Signed as it left (not when the run began): the receiver checks it against its own clock.
    received_at = time.time()
    verified = verify_request(public.ed25519, request.headers, request.body, received_at)
    event = json.loads(request.body)
    jsonschema.validate(event, event_json_schema())
    assert event["specversion"] == "1.0"
    assert event["id"] == f"alert-{alert_id}"
    assert event["data"]["severity"] == "high"
    assert "secret-internal-host" not in request.body.decode()
    assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    assert request.headers["Assure-Key-Fingerprint"] == public.fingerprint
    with sessions() as session:
        delivery = session.scalars(select(NotificationDelivery)).one()
    assert verified.delivery_id == str(delivery.id)
    # A changed body, a replay outside the window or another key are all refused.
    with pytest.raises(SignatureRefused):
        verify_request(public.ed25519, request.headers, request.body + b" ", received_at)
    with pytest.raises(SignatureRefused):
        verify_request(public.ed25519, request.headers, request.body, received_at + 3600)
    with pytest.raises(SignatureRefused):
        verify_request(bytes(32), request.headers, request.body, received_at)


def test_failing_receivers_are_dead_lettered_and_a_healthy_one_is_not_held_up(
    world_db: Db, policy
) -> None:
    world, sessions, settings = world_db
    settings = loopback_settings(settings)
    with (
        webhook_receiver(status=500) as broken,
        webhook_receiver(delay=5.0) as hanging,
        webhook_receiver() as healthy,
    ):
        for receiver in (broken, hanging, healthy):
            _register(sessions, world, receiver.url)
        raise_alert(sessions, world, "critical")
        enqueue_new_alerts(sessions, settings, NOW, policy)
        started = time.monotonic()
        first = deliver_due(sessions, settings, NOW, policy)
        took = time.monotonic() - started
        assert first["delivered"] == 1
        assert first["retrying"] == 2
        assert len(healthy.received) == 1
        # Sent side by side, each bounded by the policy's 1 s timeout: the hanging receiver's
        # 5 s never adds up with the others.
        assert took < 4
        # Nothing is due again until the backoff has passed (60 s, then 120 s).
        assert deliver_due(sessions, settings, NOW + timedelta(seconds=30), policy)["claimed"] == 0
        second = deliver_due(sessions, settings, NOW + timedelta(seconds=61), policy)
        third = deliver_due(sessions, settings, NOW + timedelta(seconds=61 + 121), policy)
    assert second["retrying"] == 2
    assert third["dead"] == 2
    assert len(broken.received) == 3
    assert len(hanging.received) == 3
    assert len(healthy.received) == 1
    with sessions() as session:
        listed = dead_letters(session, world.principal(Role.PLATFORM_ADMIN))
        own = dead_letters(session, world.principal(Role.SUPPLIER_ADMIN))
        other_tenant = dead_letters(session, world.principal(Role.SUPPLIER_ADMIN, "s2"))
    assert {d.last_error for d in listed} == {
        "the receiver answered HTTP 500",
        "no answer within 1s",
    }
    assert all("receivers-secret" not in str(d) for d in listed)
    assert {d.id for d in own} == {d.id for d in listed}
    assert other_tenant == []


def test_a_dead_letter_can_be_redelivered_by_its_organisations_admin(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    settings = loopback_settings(settings)
    with webhook_receiver(status=500) as receiver:
        _register(sessions, world, receiver.url)
        raise_alert(sessions, world, "critical")
        enqueue_new_alerts(sessions, settings, NOW, policy)
        for minutes in (0, 5, 15):
            deliver_due(sessions, settings, NOW + timedelta(minutes=minutes), policy)
        with sessions() as session:
            [dead] = dead_letters(session, world.principal(Role.SUPPLIER_ADMIN))
        with transaction(sessions) as session, pytest.raises(NotFound):
            redeliver(session, world.principal(Role.SUPPLIER_ADMIN, "s2"), dead.id, NOW)
        receiver.status = 204
        later = NOW + timedelta(hours=1)
        with transaction(sessions) as session:
            assert (
                redeliver(session, world.principal(Role.SUPPLIER_ADMIN), dead.id, later).status
                == "pending"
            )
        assert deliver_due(sessions, settings, later, policy)["delivered"] == 1
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "notification.redelivered" in actions
    assert actions.count("notification.dead_lettered") == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:8443/hook",
        "http://example.org/hook",  # plain http off loopback
        "https://user:pw@example.org/hook",
        "ftp://example.org/hook",
    ],
)
def test_a_private_or_unsafe_webhook_url_is_refused_at_registration(world_db: Db, url: str) -> None:
    world, sessions, _ = world_db
    with pytest.raises(ValidationFailed):
        _register(sessions, world, url, EgressPolicy())
    with sessions() as session:
        assert list_endpoints(session, world.principal(Role.SUPPLIER_ADMIN)) == []


def test_an_endpoint_registered_while_allowed_is_refused_at_delivery(world_db: Db, policy) -> None:
    world, sessions, settings = world_db
    with webhook_receiver() as receiver:
        _register(sessions, world, receiver.url)  # loopback allowed then
        raise_alert(sessions, world, "critical")
        enqueue_new_alerts(sessions, settings, NOW, policy)
        outcome = deliver_due(sessions, settings, NOW, policy)  # default policy: no loopback
    assert outcome["dead"] == 1
    assert receiver.received == []
    with sessions() as session:
        [delivery] = list_deliveries(session, world.principal(Role.PLATFORM_ADMIN))
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error.startswith("refused by the egress policy")
    assert "receivers-secret" not in delivery.last_error


def test_another_tenant_cannot_see_or_reach_an_endpoint(world_db: Db) -> None:
    world, sessions, _ = world_db
    endpoint_id = _register(sessions, world, "http://127.0.0.1:9/hook")
    other = world.principal(Role.SUPPLIER_ADMIN, "s2")
    with sessions() as session:
        assert list_endpoints(session, other) == []
        with pytest.raises(NotFound):
            endpoint_view(session, other, endpoint_id)
        with pytest.raises(NotFound):
            endpoint_view(session, other, 999_999)
        [mine] = list_endpoints(session, world.principal(Role.SUPPLIER_ADMIN))
    assert mine.shown_url == "http://127.0.0.1:9/…"
    with transaction(sessions) as session, pytest.raises(NotFound):
        register_endpoint(
            session,
            other,
            world.orgs["s1"].organisation_id,
            {"url": "http://127.0.0.1:9/"},
            LOOPBACK,
            NOW,
        )


def test_a_burst_larger_than_a_batch_is_sent_in_one_turn_until_the_turn_ends(
    world_db: Db, policy
) -> None:
    """A turn sends batch after batch; a turn whose time is spent stops after the batch in hand
    and leaves the rest to the next turn."""
    world, sessions, settings = world_db
    settings = loopback_settings(settings)
    small = policy.model_copy(update={"batch_size": 3, "turn_seconds": 60.0})
    with webhook_receiver() as receiver:
        _register(sessions, world, receiver.url)
        for n in range(8):
            raise_alert(sessions, world, "high", f"Alert {n}")
        # The turn starts at 0 and its time is spent once the first batch is sent.
        ticks = itertools.chain([0.0, 0.0], itertools.repeat(61.0))
        cut = run_outbox(sessions, settings, NOW, small, clock=lambda: next(ticks))
        assert cut["enqueued"]["deliveries_enqueued"] == 8
        assert (cut["delivered"]["delivered"], cut["delivered"]["batches"]) == (3, 1)
        rest = run_outbox(sessions, settings, NOW, small)
    assert (rest["delivered"]["delivered"], rest["delivered"]["batches"]) == (5, 2)
    assert len({r.headers["Assure-Delivery"] for r in receiver.received}) == 8


def test_the_same_address_is_not_registered_twice(world_db: Db) -> None:
    world, sessions, _ = world_db
    first = _register(sessions, world, "http://127.0.0.1:9/hook?token=abc")
    with pytest.raises(ValidationFailed, match=f"endpoint #{first} already"):
        _register(sessions, world, "http://127.0.0.1:9/hook?token=abc")
    with sessions() as session:
        assert len(list_endpoints(session, world.principal(Role.SUPPLIER_ADMIN))) == 1


def test_a_refusal_tells_an_organisation_admin_who_can_allow_an_address(world_db: Db) -> None:
    world, sessions, _ = world_db
    with pytest.raises(ValidationFailed) as refused:
        _register(sessions, world, "https://10.0.0.1/hook", EgressPolicy())
    assert "only the platform's operator can allow it" in str(refused.value)
    assert "ASSURE_EGRESS_ALLOW" not in str(refused.value)
    with pytest.raises(ValidationFailed, match=r"loopback IP address, such as 127\.0\.0\.1"):
        _register(sessions, world, "http://localhost/hook", EgressPolicy())
