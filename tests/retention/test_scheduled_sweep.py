"""Every worker schedules the retention sweep daily; run, it deletes what the configured policy
says is due, and nothing at all when the schedule is off or that policy is refused."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, User, UserSession
from tests.jobs.schedule import worker_huey

DAILY = "retention.sweep"


def test_the_sweep_is_due_once_a_day_at_night(backend_settings: Settings) -> None:
    huey = worker_huey(backend_settings)
    due = [
        when
        for when in (datetime(2026, 5, 1, 0, 0) + timedelta(minutes=m) for m in range(24 * 60))
        if DAILY in {task.name for task in huey.read_periodic(when)}
    ]
    assert due == [datetime(2026, 5, 1, 3, 23)]


def test_the_scheduled_task_sweeps_a_session_long_expired(
    backend_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    long_ago = utcnow() - timedelta(days=400)
    with transaction(sessions) as session:
        user = User(email="old@force.example", display_name="Old Session")
        session.add(user)
        session.flush()
        for ended in (long_ago, utcnow() - timedelta(days=1)):
            session.add(
                UserSession(
                    token_sha256=f"{ended.timestamp():064.0f}"[-64:],
                    user_id=user.id,
                    method="password",
                    created_at=ended - timedelta(hours=8),
                    last_seen_at=ended,
                    expires_at=ended,
                )
            )
    huey = worker_huey(backend_settings)
    (task,) = [t for t in huey.read_periodic(datetime(2026, 5, 1, 3, 23)) if t.name == DAILY]
    report = task.execute()["summary"]
    assert report["ok"] is True
    with sessions() as session:
        left = session.scalars(select(UserSession.expires_at)).all()
    assert len(left) == 1
    assert left[0] > long_ago + timedelta(days=300)


LEGAL_HOLD = """\
version: 1
rules:
  - kind: user_session
    from: session_ended
    days: 1000
    action: delete
    why: Legal hold on sign-in records while a complaint is investigated.
"""


def _sessions_ended(sessions: sessionmaker[Session], *days_ago: int) -> None:
    with transaction(sessions) as session:
        user = User(email="held@force.example", display_name="Held Session")
        session.add(user)
        session.flush()
        for days in days_ago:
            ended = utcnow() - timedelta(days=days)
            session.add(
                UserSession(
                    token_sha256=f"{days:064d}",
                    user_id=user.id,
                    method="password",
                    created_at=ended - timedelta(hours=8),
                    last_seen_at=ended,
                    expires_at=ended,
                )
            )


def _run_the_nightly_task(settings: Settings) -> dict[str, Any]:
    huey = worker_huey(settings)
    (task,) = [t for t in huey.read_periodic(datetime(2026, 5, 1, 3, 23)) if t.name == DAILY]
    outcome: dict[str, Any] = task.execute()
    assert outcome["ran"] is True
    assert outcome["status"] == ("succeeded" if outcome["summary"].get("ok") else "failed")
    return dict(outcome["summary"])


def _days_left(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        ended = session.scalars(select(UserSession.expires_at)).all()
    return sorted(round((utcnow() - when) / timedelta(days=1)) for when in ended)


def test_the_nightly_sweep_applies_the_configured_longer_policy_not_the_shipped_one(
    backend_settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    policy = tmp_path / "legal-hold.yaml"
    policy.write_text(LEGAL_HOLD, "utf-8")
    _sessions_ended(sessions, 400, 1200)  # the shipped 90 days would delete both

    report = _run_the_nightly_task(backend_settings.model_copy(update={"retention_policy": policy}))

    assert report["ok"] is True
    assert report["policy"] == str(policy)
    assert [(r["kind"], r["days"], r["swept"]) for r in report["rules"]] == [
        ("user_session", 1000, 1)
    ]
    assert _days_left(sessions) == [400]


def test_with_the_schedule_off_the_nightly_task_sweeps_nothing(
    backend_settings: Settings, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    _sessions_ended(sessions, 400)

    with caplog.at_level(logging.INFO, logger="assure.retention"):
        report = _run_the_nightly_task(
            backend_settings.model_copy(update={"retention_schedule": False})
        )

    assert report == {"ok": True, "skipped": "retention_schedule is off", "rules": []}
    assert _days_left(sessions) == [400]
    said = [r.getMessage() for r in caplog.records if r.name == "assure.retention"]
    assert len(said) == 1
    assert "schedule is off" in said[0]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(LEGAL_HOLD.replace("days: 1000", "days: 0"), id="a period of no days"),
        pytest.param(LEGAL_HOLD.replace("user_session", "user_sessions"), id="an unknown kind"),
        pytest.param("a: &a [x, x]\nb: [*a, *a]\n", id="a YAML alias"),
        pytest.param(b"version: 1\nrules: [\xff]\n", id="not UTF-8"),
        pytest.param(None, id="a file that is not there"),
    ],
)
def test_a_broken_policy_file_makes_the_nightly_sweep_do_nothing(
    backend_settings: Settings,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    broken: str | bytes | None,
) -> None:
    policy = tmp_path / "policy.yaml"
    if isinstance(broken, str):
        policy.write_text(broken, "utf-8")
    elif isinstance(broken, bytes):
        policy.write_bytes(broken)
    _sessions_ended(sessions, 400)

    with caplog.at_level(logging.INFO, logger="assure.retention"):
        report = _run_the_nightly_task(
            backend_settings.model_copy(update={"retention_policy": policy})
        )

    assert report["ok"] is False
    assert report["rules"] == []
    assert str(policy) in report["error"]
    # Never the shipped policy instead: its 90 days would have deleted the session.
    assert _days_left(sessions) == [400]
    errors = [r for r in caplog.records if r.name == "assure.retention"]
    assert [r.levelno for r in errors] == [logging.ERROR]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
