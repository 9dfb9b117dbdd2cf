"""A real `assure notify deliver` process (what a scheduled worker runs) sends an alert to a
loopback SMTP server and a loopback webhook receiver; `assure notify test-email` reaches the
server, and is refused when the egress policy refuses it."""

from __future__ import annotations

import json

from checks.egress import EgressPolicy
from kernel.clock import utcnow
from posture.notify.signing import verify_request
from posture.notify.webhooks import register_endpoint
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from tests.cli import assure, cli_env
from tests.notify.conftest import Db, raise_alert
from tests.notify.peers import smtp_server, webhook_receiver


def _env(settings, port: int, allow: str = "127.0.0.0/8", login: bool = False) -> dict[str, str]:
    env = cli_env(settings.data_dir)
    env |= {
        "ASSURE_SMTP_HOST": "127.0.0.1",
        "ASSURE_SMTP_PORT": str(port),
        "ASSURE_SMTP_STARTTLS": "false",
        "ASSURE_SMTP_FROM": "assure@example.police.uk",
    }
    if login:
        env |= {"ASSURE_SMTP_PASSWORD": "never-shown-password", "ASSURE_SMTP_USERNAME": "assure"}
    if allow:
        env["ASSURE_EGRESS_ALLOW"] = allow
    return env


def test_a_real_deliver_process_sends_mail_and_a_signed_webhook(world_db: Db) -> None:
    world, sessions, settings = world_db
    now = utcnow()
    with smtp_server() as (mailbox, port), webhook_receiver() as receiver:
        with transaction(sessions) as session:
            register_endpoint(
                session,
                world.principal(Role.SUPPLIER_ADMIN),
                world.orgs["s1"].organisation_id,
                {"url": receiver.url},
                EgressPolicy.loopback_only(),
                now,
            )
        raise_alert(sessions, world, "critical", at=now)
        env = _env(settings, port, login=True)
        # No password without STARTTLS: the e-mails are dead-lettered, the webhook goes.
        result = assure("notify", "deliver", "--json", env=env)
        assert result.returncode == 0, result.stderr
        refused = json.loads(result.stdout)
        env.pop("ASSURE_SMTP_PASSWORD"), env.pop("ASSURE_SMTP_USERNAME")
        raise_alert(sessions, world, "high", "Second alert", at=utcnow())
        result = assure("notify", "deliver", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert refused["delivered"]["delivered"] == 1
    assert refused["delivered"]["dead"] == 2
    assert summary["enqueued"]["deliveries_enqueued"] == 3
    assert summary["delivered"]["delivered"] == 3
    assert "never-shown-password" not in result.stdout + result.stderr
    assert sorted(m["Subject"] for _, _, m in mailbox.messages) == ["[high] Second alert"] * 2
    assert len(receiver.received) == 2
    public = platform_keys(settings).public().ed25519
    for request in receiver.received:
        stamp = int(request.headers["Assure-Timestamp"])
        verify_request(public, request.headers, request.body, stamp)


def test_test_email_reaches_the_server_unless_the_policy_refuses_it(world_db: Db) -> None:
    _, _, settings = world_db
    with smtp_server() as (mailbox, port):
        sent = assure(
            "notify", "test-email", "officer@example.police.uk", env=_env(settings, port, "")
        )
        assert sent.returncode == 2
        assert "egress policy" in sent.stderr
        assert mailbox.messages == []
        env = _env(settings, port)
        sent = assure("notify", "test-email", "officer@example.police.uk", env=env)
        hostile = assure("notify", "test-email", "a@b.example\r\nBcc: x@evil.example", env=env)
    assert sent.returncode == 0, sent.stderr
    assert hostile.returncode == 2
    [(_, recipients, message)] = mailbox.messages
    assert recipients == ["officer@example.police.uk"]
    assert message["Subject"] == "PoliceTech Assure: test message"
