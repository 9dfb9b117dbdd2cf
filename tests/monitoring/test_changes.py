"""Alerts from changes between two runs of one check, and from band changes between snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from checks.findings import finding
from checks.report import CheckReport, ReportStatus
from posture.dashboards import product_standings
from posture.monitoring.changes import (
    MonitoringPolicy,
    band_change_alerts,
    check_run_alerts,
    monitoring_policy,
)
from posture.storage.models.enums import Role
from tests.dashboards.conftest import Db

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def _report(kind: str, *codes: str, score: float | None = 80.0) -> CheckReport:
    return CheckReport(
        kind=kind,
        target="vault.example:443",
        started_at=WHEN,
        finished_at=WHEN,
        status=ReportStatus.COMPLETED,
        score=score,
        findings=[finding(code) for code in codes],
    )


def _codes(previous: CheckReport | None, current: CheckReport) -> list[str]:
    return [a.code for a in check_run_alerts(previous, current)]


@pytest.mark.parametrize(
    ("kind", "before", "now"),
    [
        ("tls", ("PQC-TLS-004",), ("PQC-TLS-001",)),
        ("tls", ("PQC-TLS-002",), ("PQC-TLS-003",)),
        ("ssh", ("SSH-006",), ("SSH-001",)),
    ],
)
def test_losing_post_quantum_key_exchange_raises_an_alert(
    kind: str, before: tuple[str, ...], now: tuple[str, ...]
) -> None:
    (alert,) = check_run_alerts(_report(kind, *before), _report(kind, *now))
    assert alert.code == "MON-PQ-LOST"
    assert alert.severity == "high"
    assert alert.detail["findings_before"] == list(before)
    assert alert.detail["findings_now"] == list(now)


def test_no_alert_when_nothing_changed_or_there_is_no_earlier_run() -> None:
    assert _codes(_report("tls", "PQC-TLS-001"), _report("tls", "PQC-TLS-001")) == []
    assert _codes(_report("tls", "PQC-TLS-004"), _report("tls", "PQC-TLS-004")) == []
    assert _codes(None, _report("tls", "PQC-TLS-001", "CERT-002")) == []
    assert _codes(_report("ssh", "SSH-006"), _report("tls", "PQC-TLS-001")) == []


def test_a_certificate_coming_up_for_expiry_alerts_once() -> None:
    assert _codes(_report("tls", "PQC-TLS-004"), _report("tls", "PQC-TLS-004", "CERT-002")) == [
        "MON-CERT-EXPIRY"
    ]
    # Already expiring at the last check: the alert was raised then, not again.
    assert _codes(_report("tls", "CERT-002"), _report("tls", "CERT-001")) == []
    assert _codes(_report("cert"), _report("cert", "CERT-001")) == ["MON-CERT-EXPIRY"]


def test_an_api_score_drop_alerts_only_past_the_threshold() -> None:
    assert _codes(_report("api", score=80.0), _report("api", score=70.5)) == []
    (alert,) = check_run_alerts(_report("api", score=80.0), _report("api", score=70.0))
    assert (alert.code, alert.detail) == (
        "MON-API-DROP",
        {"before": 80.0, "now": 70.0, "drop": 10.0},
    )
    assert _codes(_report("api", score=None), _report("api", score=10.0)) == []


def test_a_band_change_between_snapshot_runs_alerts(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    with sessions() as session:
        standings = product_standings(session, world.principal(Role.NATIONAL_ASSESSOR))
    alerts = band_change_alerts(standings)
    assert [(pid, a.code, a.detail) for pid, a in alerts] == [
        (world.orgs["s1"].product_id, "MON-BAND-CHANGE", {"before": "B", "now": "C"})
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule_days": {"tls": 0}}, "at least one day"),
        ({"alerts": {}}, "MON-BAND-CHANGE"),
    ],
)
def test_a_bad_monitoring_policy_is_refused(change: dict, message: str) -> None:  # type: ignore[type-arg]
    raw = monitoring_policy().model_dump(mode="json") | change
    with pytest.raises(ValidationError, match=message):
        MonitoringPolicy.model_validate(raw)
