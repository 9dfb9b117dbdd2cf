"""Check runs for the findings tests: a report with the findings a check would show, recorded
and tracked the way the worker does it, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import CheckFinding, finding
from checks.report import CheckReport, ReportStatus
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.findings.tracking import TrackResult, track_check_run
from posture.storage.engine import transaction
from posture.storage.models import TrackedFinding
from tests.identity.world import World

TARGET = "vault.example:443"
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
OLD_TLS = finding("TLS-VER-001", versions=["TLSv1.0"])
RSA_SUITE = finding("TLS-SUITE-001", suite="TLS_RSA_WITH_AES_128_GCM_SHA256")
NOTHING_ANSWERED = finding("NET-001", detail="connection refused")


def cert_finding(code: str, subject: str) -> CheckFinding:
    return finding(code, certificate="leaf", subject=subject, issuer="CN=Issuer")


def report(
    findings: list[CheckFinding],
    at: datetime,
    *,
    kind: str = "tls",
    target: str = TARGET,
    status: ReportStatus = ReportStatus.COMPLETED,
) -> CheckReport:
    return CheckReport(
        kind=kind,
        target=target,
        started_at=at - timedelta(seconds=5),
        finished_at=at,
        status=status,
        score=50.0 if status is ReportStatus.COMPLETED else None,
        findings=findings,
    )


def run_check(
    sessions: sessionmaker[Session],
    world: World,
    findings: list[CheckFinding],
    at: datetime,
    org: str = "s1",
    requester: int | None = None,
    **options: object,
) -> TrackResult:
    """Record and track a run; `requester` is the user who asked for it (None: the worker)."""
    objects = world.orgs[org]
    with transaction(sessions) as session:
        run = record_check_run(
            session,
            Actor("worker" if requester is None else f"user {requester}", requester),
            report(findings, at, **options),  # type: ignore[arg-type]
            objects.organisation_id,
            objects.product_id,
        )
        return track_check_run(session, run)


def tracked(sessions: sessionmaker[Session], org_id: int | None = None) -> list[TrackedFinding]:
    with sessions() as session:
        query = select(TrackedFinding).order_by(TrackedFinding.id)
        if org_id is not None:
            query = query.where(TrackedFinding.organisation_id == org_id)
        found = list(session.scalars(query))
        session.expunge_all()
        return found
