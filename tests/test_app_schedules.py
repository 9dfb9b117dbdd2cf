"""The Schedules page: a platform admin sees each schedule's last run, outcome and next run, a
failed run's reason, and queues a schedule for a worker; a failure to read the schedules file is
shown as one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kernel.clock import utcnow
from posture.identity.permissions import Principal
from posture.jobs.queue import build_queue
from posture.storage.engine import transaction
from posture.storage.models import ScheduleRun
from posture.storage.models.enums import Role, ScheduleRunStatus


def _render() -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == "schedules"))()


def _open(principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


@pytest.fixture
def page(world_db, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    world, sessions, settings = world_db
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ASSURE_SCHEDULES_FILE", raising=False)
    started = utcnow() - timedelta(hours=2)
    with transaction(sessions) as session:
        session.add(
            ScheduleRun(
                name="procurement.recheck_listings",
                period_key=started.strftime("%Y-%m-%d"),
                status=ScheduleRunStatus.FAILED,
                trigger="schedule",
                attempts=1,
                started_at=started,
                finished_at=started + timedelta(minutes=1),
                summary={"newly_flagged": 2, "applications": [4, 9], "delivered": {"dead": 0}},
                error="the database was restarting",
            )
        )
    return world, settings


def test_an_admin_sees_every_schedule_with_its_last_outcome_and_next_run(page) -> None:  # type: ignore[no-untyped-def]
    world, _ = page
    app = _open(world.principal(Role.PLATFORM_ADMIN))
    assert not app.exception
    (table,) = (f.value for f in app.dataframe if "Schedule" in f.value.columns)
    rows = table.set_index("Schedule")
    assert "posture.daily_snapshot" in rows.index
    assert rows.loc["procurement.recheck_listings", "Outcome"] == "Failed"
    assert rows.loc["posture.daily_snapshot", "Last run"] == "never"
    assert all(rows["Next run"].str.contains("20"))
    # What the run did, in words: no JSON, lists by their length.
    assert "applications: 2\ndelivered:\n  dead: 0\nnewly flagged: 2" in [t.value for t in app.text]
    assert [e.value for e in app.error] == [
        "procurement.recheck_listings failed for "
        f"{(utcnow() - timedelta(hours=2)).strftime('%Y-%m-%d')}: the database was restarting"
    ]


def test_an_admin_queues_a_schedule_for_a_worker(page) -> None:  # type: ignore[no-untyped-def]
    world, settings = page
    app = _open(world.principal(Role.PLATFORM_ADMIN))
    app.selectbox[0].set_value("expiry.reminders")
    app = app.button[0].click().run()
    assert not app.exception
    assert "expiry.reminders is queued for a worker" in app.success[0].value
    assert build_queue(settings).huey.pending_count() == 1


def test_a_broken_schedules_file_is_one_line_not_a_traceback(
    page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    world, _ = page
    broken = tmp_path / "schedules.yaml"
    broken.write_text("version: 1\nschedules: [{name: x}]\n", "utf-8")
    monkeypatch.setenv("ASSURE_SCHEDULES_FILE", str(broken))
    app = _open(world.principal(Role.PLATFORM_ADMIN))
    assert not app.exception
    assert len(app.error) == 1
    # Shown as plain text: Markdown's characters in the path are escaped.
    said = app.error[0].value.replace("\\", "").replace("\u2060", "")
    assert f"{broken}: refused, no schedule from it runs" in said
    assert not app.dataframe
