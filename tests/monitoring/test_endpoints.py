"""Monitored endpoints are re-checked when due, and a change that matters raises an alert.

A real TLS server on loopback first offers hybrid ML-KEM key exchange, then only X25519."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.jobs.queue import JobQueue, build_queue
from posture.monitoring.endpoints import (
    EndpointForm,
    product_monitoring,
    queue_due_checks,
    register_endpoint,
)
from posture.storage.engine import transaction
from posture.storage.models import Alert, AuditEvent, Job, MonitoredEndpoint
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World, build_world
from tests.peers.apis import build_spec
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler

Db = tuple[World, sessionmaker[Session], Settings]


def _supplier_product_queue(world_db: Db) -> tuple[Principal, int, JobQueue]:
    """s1's supplier, its product, and a queue that runs jobs at once with loopback allowed."""
    world, _, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(
        settings.model_copy(update={"queue_immediate": True, "egress_allow": ["127.0.0.0/8"]})
    )
    return world.principal(Role.SUPPLIER_MEMBER), product_id, queue


def test_losing_pq_key_exchange_between_scheduled_checks_raises_an_alert(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, _ = world_db
    supplier, product_id, queue = _supplier_product_queue(world_db)
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
        shown = product_monitoring(session, supplier, product_id)
        assert [e.id for e in shown.endpoints] == [endpoint_id]
        assert shown.open_alerts["code"].tolist() == ["MON-PQ-LOST"]
        with pytest.raises(NotFound):
            product_monitoring(session, world.principal(Role.FORCE_ASSESSOR), product_id)


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


class _SpecHandler(BaseHTTPRequestHandler):
    published: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        body = json.dumps(self.published[-1]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def _without_authentication(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec.pop("security", None)
    spec["components"].pop("securitySchemes", None)
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return spec


def test_a_published_api_description_that_loses_its_security_raises_a_score_drop_alert(
    world_db: Db,
) -> None:
    sessions = world_db[1]
    supplier, product_id, queue = _supplier_product_queue(world_db)
    _SpecHandler.published = [build_spec(False)]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SpecHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/openapi.json"
    now = utcnow()
    try:
        with transaction(sessions) as session:
            register_endpoint(
                session, supplier, product_id, EndpointForm(kind="api", target=url), now
            )
        first = queue_due_checks(sessions, queue.run_check, now)
        _SpecHandler.published.append(_without_authentication(build_spec(False)))
        second = queue_due_checks(sessions, queue.run_check, now + timedelta(days=7))
    finally:
        server.shutdown()
    with sessions() as session:
        runs = [session.get(Job, job_id) for job_id in first + second]
        assert [(j.status, j.message.split(":")[-1].strip()) for j in runs if j] == [
            (RunStatus.SUCCEEDED, "score 100"),
            (RunStatus.SUCCEEDED, "score 82.9"),
        ]
        (alert,) = session.scalars(select(Alert)).all()
        assert (alert.code, alert.detail) == (
            "MON-API-DROP",
            {"before": 100.0, "now": 82.9, "drop": 17.1},
        )


def test_an_api_endpoint_must_be_a_url() -> None:
    assert EndpointForm(kind="api", target="https://api.example/openapi.json").kind == "api"
    with pytest.raises(ValidationError, match="https:// URL"):
        EndpointForm(kind="api", target="api.example:443")
    with pytest.raises(ValidationError, match="host:port"):
        EndpointForm(kind="tls", target="https://api.example/")


def test_twenty_runs_at_once_queue_each_due_endpoint_once(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        world = build_world(session)
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    now = utcnow()
    with transaction(sessions) as session:
        for port in range(5):
            form = EndpointForm(kind="tls", target=f"127.0.0.1:{40000 + port}")
            register_endpoint(session, supplier, product_id, form, now)
    queued: list[int] = []
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            queue_due_checks(sessions, queued.append, now)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(queued) == 5
    with sessions() as session:
        endpoints = [job.payload["endpoint_id"] for job in session.scalars(select(Job))]
    assert len(endpoints) == len(set(endpoints)) == 5
