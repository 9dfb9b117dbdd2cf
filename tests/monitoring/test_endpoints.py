"""Monitored endpoints are re-checked when due, and a change that matters raises an alert.

A real TLS server on loopback first offers hybrid ML-KEM key exchange, then only X25519."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posture.config import Settings
from posture.identity.permissions import NotFound, PermissionDenied
from posture.jobs.queue import build_queue
from posture.monitoring.endpoints import (
    EndpointForm,
    list_endpoints,
    queue_due_checks,
    register_endpoint,
)
from posture.storage.base import utcnow
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent, Job, MonitoredEndpoint
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler

Db = tuple[World, sessionmaker[Session], Settings]


def test_losing_pq_key_exchange_between_scheduled_checks_raises_an_alert(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, settings = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(
        settings.model_copy(update={"queue_immediate": True, "egress_allow": ["127.0.0.0/8"]})
    )
    cert, key = make_certificate(tmp_path)
    serving = [pyopenssl_handler(cert, key, "X25519MLKEM768:X25519")]
    now = utcnow()
    with LoopbackServer(lambda sock: serving[0](sock)) as server:
        with transaction(sessions) as session:
            form = EndpointForm(kind="tls", target=f"127.0.0.1:{server.port}")
            endpoint_id = register_endpoint(session, supplier, product_id, form, now).id
        first = queue_due_checks(sessions, queue.run_check, now)
        assert len(first) == 1
        assert queue_due_checks(sessions, queue.run_check, now + timedelta(days=6)) == []
        serving[0] = pyopenssl_handler(cert, key, "X25519")
        second = queue_due_checks(sessions, queue.run_check, now + timedelta(days=7))
        assert len(second) == 1
    with sessions() as session:
        jobs = [session.get(Job, job_id) for job_id in first + second]
        assert [j.status for j in jobs if j] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
        alerts = session.scalars(select(Alert)).all()
        assert [(a.code, a.severity, a.endpoint_id) for a in alerts] == [
            ("MON-PQ-LOST", "high", endpoint_id)
        ]
        assert alerts[0].detail["findings_now"] == ["PQC-TLS-001"]
        endpoint = session.get(MonitoredEndpoint, endpoint_id)
        assert endpoint is not None
        assert endpoint.last_check_run_id == alerts[0].check_run_id
        assert endpoint.next_due_at == now + timedelta(days=14)
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"monitoring.endpoint_registered", "monitoring.checks_queued", "alert.raised"} <= (
            actions
        )
        assert [e.id for e in list_endpoints(session, supplier)] == [endpoint_id]
        assert list_endpoints(session, world.principal(Role.FORCE_ASSESSOR)) == []


def test_another_tenant_cannot_register_an_endpoint_for_the_product(world_db: Db) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s2"].product_id
    assert product_id is not None
    with transaction(sessions) as session, pytest.raises((NotFound, PermissionDenied)):
        register_endpoint(
            session,
            world.principal(Role.SUPPLIER_MEMBER),
            product_id,
            EndpointForm(kind="tls", target="vault.example:443"),
            utcnow(),
        )
    with sessions() as session:
        assert session.scalars(select(MonitoredEndpoint)).all() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "tls", "target": "no-port"},
        {"kind": "tls", "target": "two words:443"},
        {"kind": "ftp", "target": "host:21"},
    ],
)
def test_bad_endpoints_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        EndpointForm.model_validate(fields)
