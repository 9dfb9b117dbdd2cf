"""A small world with one product alert, settings pointing e-mail at a loopback SMTP server, and
a notification policy with few attempts and short timeouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.notify.policy import NotificationPolicy, RetryPolicy, notification_policy
from posture.storage.engine import transaction
from posture.storage.models import Alert
from tests.identity.world import World, build_world

Db = tuple[World, sessionmaker[Session], Settings]
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def backend_world(sessions: sessionmaker[Session], backend_settings: Settings) -> Db:
    """The small world on each backend (SQLite and PostgreSQL), for the concurrency tests."""
    with transaction(sessions) as session:
        world = build_world(session)
    return world, sessions, backend_settings


@pytest.fixture
def policy() -> NotificationPolicy:
    return notification_policy().model_copy(
        update={
            "retry": RetryPolicy(attempts=3, base_delay_seconds=60, max_delay_seconds=600),
            "request_timeout_seconds": 1.0,
            "claim_seconds": 30.0,
        }
    )


def loopback_settings(settings: Settings, smtp_port: int | None = None) -> Settings:
    update: dict[str, object] = {"egress_allow": ("127.0.0.0/8", "::1/128")}
    if smtp_port is not None:
        update |= {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_starttls": False,
            "smtp_from": "assure@example.police.uk",
        }
    return settings.model_copy(update=update)


def raise_alert(
    sessions: sessionmaker[Session],
    world: World,
    severity: str = "high",
    title: str = "Post-quantum key exchange was lost",
    org: str = "s1",
    at: datetime = NOW,
    alert_id: int | None = None,
) -> int:
    """Raise an alert a minute before `at`; `alert_id` gives it that id, as a transaction that
    took its id early and committed late would have."""
    objects = world.orgs[org]
    with transaction(sessions) as session:
        alert = Alert(
            id=alert_id,
            organisation_id=objects.organisation_id,
            product_id=objects.product_id,
            code="MON-PQ-LOST",
            severity=severity,
            title=title,
            advice="Restore hybrid ML-KEM key exchange.",
            detail={"target": "secret-internal-host.example:443"},
            raised_at=at - timedelta(minutes=1),
        )
        session.add(alert)
        session.flush()
        return alert.id
