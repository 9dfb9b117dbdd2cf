"""Register a product's endpoints for monitoring, and queue the re-checks that fall due."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.catalogue import InputKind, KindName, spec_for
from posture.audit import SYSTEM, hold_append_lock, record
from posture.check_requests import CheckRequest
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.monitoring.changes import monitoring_policy
from posture.monitoring.inbox import alert_table
from posture.storage.engine import transaction
from posture.storage.models import Job, MonitoredEndpoint, Product
from posture.storage.models.enums import RunStatus

HOST_PORT = re.compile(r"[^\s:/]+:\d{1,5}")
PUBLISHED_URL = re.compile(r"https?://[^\s]+")


def monitored_kinds() -> tuple[str, ...]:
    """The kinds of check the monitoring policy schedules (posture/data/monitoring.yaml)."""
    return tuple(monitoring_policy().schedule_days)


class EndpointForm(BaseModel):
    """An endpoint check's target is host:port; a check of a published file (an API's OpenAPI
    description) is the file's URL.

    A scheduled API re-check lints the published description only: fuzzing a supplier's live
    service every week, unattended, could change its data, so live testing stays a run a person
    starts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    kind: KindName
    target: str = Field(min_length=3, max_length=300)

    @model_validator(mode="after")
    def _target_fits_kind(self) -> EndpointForm:
        if self.kind not in monitored_kinds():
            raise ValueError(f"kind: choose one of {', '.join(monitored_kinds())}")
        if spec_for(self.kind).input is InputKind.ENDPOINT:
            if not HOST_PORT.fullmatch(self.target):
                raise ValueError("target: give host:port")
        elif not PUBLISHED_URL.fullmatch(self.target):
            raise ValueError("target: give the https:// URL the file is published at")
        return self


def register_endpoint(
    session: Session, principal: Principal, product_id: int, form: EndpointForm, now: datetime
) -> MonitoredEndpoint:
    """The first check falls due at once; later ones on the schedule set for the kind."""
    product = load_visible(session, Product, product_id, principal, "check.run", "product")
    endpoint = MonitoredEndpoint(
        organisation_id=product.organisation_id,
        product_id=product.id,
        kind=form.kind,
        target=form.target,
        interval_days=monitoring_policy().schedule_days[form.kind],
        next_due_at=now,
    )
    session.add(endpoint)
    session.flush()
    record(
        session,
        actor_of(principal),
        "monitoring.endpoint_registered",
        "monitored_endpoint",
        endpoint.id,
        {"kind": form.kind, "target": form.target, "product_id": product.id},
        organisation_id=product.organisation_id,
    )
    return endpoint


def queue_due_checks(
    sessions: sessionmaker[Session], enqueue: Callable[[int], object], now: datetime
) -> list[int]:
    """Create a job for every due endpoint and move its next due time on; returns the job ids.

    Jobs are committed before they are enqueued, so a worker never looks for a missing row."""
    with transaction(sessions) as session:
        # Read under the lock the audit record below takes anyway: two runs at once would
        # otherwise both read every due endpoint before either moved it on, and both queue it.
        hold_append_lock(session)
        due = session.scalars(
            select(MonitoredEndpoint)
            .where(MonitoredEndpoint.active.is_(True), MonitoredEndpoint.next_due_at <= now)
            .order_by(MonitoredEndpoint.id)
        ).all()
        jobs = []
        for endpoint in due:
            request = CheckRequest(kind=endpoint.kind, target=endpoint.target)
            job = Job(
                kind="check",
                status=RunStatus.QUEUED,
                organisation_id=endpoint.organisation_id,
                product_id=endpoint.product_id,
                payload={
                    "product_id": endpoint.product_id,
                    "endpoint_id": endpoint.id,
                    "request": request.model_dump(),
                },
            )
            session.add(job)
            endpoint.next_due_at = now + timedelta(days=endpoint.interval_days)
            jobs.append(job)
        session.flush()
        if jobs:
            record(
                session,
                SYSTEM,
                "monitoring.checks_queued",
                "job",
                "scheduled",
                {"jobs": [job.id for job in jobs], "endpoints": [e.id for e in due]},
            )
        job_ids = [job.id for job in jobs]
    for job_id in job_ids:
        enqueue(job_id)
    return job_ids


@dataclass(frozen=True)
class ProductMonitoring:
    organisation_id: int
    endpoints: list[MonitoredEndpoint]
    open_alerts: pd.DataFrame


def product_monitoring(
    session: Session, principal: Principal, product_id: int
) -> ProductMonitoring:
    """A product's monitored endpoints and its open alerts, newest first."""
    product = load_visible(session, Product, product_id, principal, "check.read", "product")
    endpoints = session.scalars(
        select(MonitoredEndpoint)
        .where(MonitoredEndpoint.product_id == product_id)
        .order_by(MonitoredEndpoint.id)
    ).all()
    alerts = alert_table(session, principal, product_id=product_id)
    return ProductMonitoring(product.organisation_id, list(endpoints), alerts)
