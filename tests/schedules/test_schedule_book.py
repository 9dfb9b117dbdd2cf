"""The schedule book is data: the shipped file binds every schedule to a known action, and a
file with one wrong field is refused whole, naming the file and the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.errors import ConfigError
from posture.schedules.book import Period, load_schedules, period_key
from supplier_portal.automation import schedule_actions
from tests.cli import assure

GOOD = """\
version: 1
schedules:
  - name: posture.daily_snapshot
    action: posture.snapshot
    description: The day's snapshot.
    cron: {hour: "0", minute: "45"}
    period: day
    timeout_minutes: 60
  - name: expiry.reminders
    action: expiry.reminders
    description: Reminders.
    cron: {hour: "2", minute: "13"}
    period: day
    timeout_minutes: 60
"""


def _written(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "schedules.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def test_the_shipped_book_binds_every_schedule_the_issue_names() -> None:
    book = load_schedules(None, schedule_actions())
    assert {d.name for d in book.definitions} >= {
        "posture.daily_snapshot",
        "procurement.recheck_listings",
        "monitoring.queue_due",
        "expiry.reminders",
        "risk.expire_decisions",
        "audit.checkpoint",
    }
    assert all(book.action_of(d) is schedule_actions()[d.action] for d in book.definitions)
    daily = book.named("posture.daily_snapshot")
    assert daily.period is Period.DAY
    assert daily.next_run(datetime(2026, 12, 7, 10, 0, tzinfo=UTC)) == datetime(
        2026, 12, 8, 0, 45, tzinfo=UTC
    )


def test_an_operators_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    book = load_schedules(_written(tmp_path, GOOD), schedule_actions())
    assert [d.name for d in book.definitions] == ["posture.daily_snapshot", "expiry.reminders"]
    assert book.source == str(tmp_path / "schedules.yaml")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param(
            GOOD.replace("action: expiry.reminders", "action: expiry.remind"),
            "schedules[1] (expiry.reminders).action: 'expiry.remind' is not an action",
            id="an unknown action",
        ),
        pytest.param(
            GOOD.replace('minute: "45"', 'minute: "61"'),
            "schedules[0] (posture.daily_snapshot).cron: Value error, not a cron schedule",
            id="a minute past 59",
        ),
        pytest.param(
            GOOD.replace("period: day\n    timeout_minutes: 60\n  - name: expiry", "period: week"
                         "\n    timeout_minutes: 60\n  - name: expiry"),
            "schedules[0] (posture.daily_snapshot).period: Input should be 'minute', 'hour' or "
            "'day'",
            id="an unknown period",
        ),
        pytest.param(
            GOOD.replace("    timeout_minutes: 60\n", "", 1),
            "schedules[0] (posture.daily_snapshot).timeout_minutes: Field required",
            id="a missing field",
        ),
        pytest.param(
            GOOD.replace("period: day\n", "period: day\n    retries: 3\n", 1),
            "schedules[0] (posture.daily_snapshot).retries: Extra inputs are not permitted",
            id="a field the schema does not know",
        ),
        pytest.param(
            GOOD.replace("name: expiry.reminders", "name: posture.daily_snapshot"),
            "two schedules are named 'posture.daily_snapshot'",
            id="two schedules of one name",
        ),
        pytest.param("a: &a [x, x]\nb: [*a, *a]\n", "refused", id="a YAML alias"),
        pytest.param(b"version: 1\nschedules: [\xff]\n", "refused", id="not UTF-8"),
        pytest.param("version: 1\nschedules: [" + "[" * 50 + "]" * 50 + "]\n", "refused",
                     id="nested past the depth limit"),
        pytest.param("x" * 70_000, "larger than the 64 KB", id="past the size limit"),
        pytest.param("version: 2\nschedules: []\n", "version: Input should be less than",
                     id="a version this release does not read"),
    ],
)  # fmt: skip
def test_a_broken_file_is_refused_whole_naming_the_file_and_the_field(
    tmp_path: Path, text: str | bytes, said: str
) -> None:
    path = _written(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_schedules(path, schedule_actions())
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    assert said in message


def test_a_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot be read"):
        load_schedules(tmp_path / "missing.yaml", schedule_actions())


def test_a_worker_will_not_start_on_a_broken_schedules_file(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    path = _written(tmp_path, GOOD.replace('minute: "45"', 'minute: "61"'))
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    started = assure("worker", env={**sqlite_env, "ASSURE_SCHEDULES_FILE": str(path)})
    assert started.returncode != 0
    assert f"{path}: refused, no schedule from it runs" in started.stderr
    assert "Traceback" not in started.stderr


def test_periods_are_the_utc_day_hour_or_minute() -> None:
    moment = datetime(2026, 12, 7, 23, 59, 30, tzinfo=UTC)
    assert period_key(Period.DAY, moment) == "2026-12-07"
    assert period_key(Period.HOUR, moment) == "2026-12-07T23"
    assert period_key(Period.MINUTE, moment) == "2026-12-07T23:59"
