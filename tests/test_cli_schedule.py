"""`assure schedule`: the list with last and next runs, running one now once per period, and a
failed run reported as an error with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import assure


def test_a_schedule_runs_once_in_its_period_from_the_command_line(
    sqlite_env: dict[str, str],
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    first = assure("schedule", "run", "expiry.reminders", "--json", env=sqlite_env)
    assert first.returncode == 0, first.stderr
    ran = json.loads(first.stdout)
    assert (ran["ran"], ran["status"]) == (True, "succeeded")
    again = assure("schedule", "run", "expiry.reminders", env=sqlite_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"expiry.reminders: not run; its run for {ran['period']} is succeeded already"
    )
    listed = json.loads(assure("schedule", "list", "--json", env=sqlite_env).stdout)
    rows = {row["name"]: row for row in listed["schedules"]}
    assert listed["source"] == "posture/data/schedules.yaml"
    assert rows["expiry.reminders"]["last"]["status"] == "succeeded"
    assert rows["expiry.reminders"]["last"]["trigger"] == "cli"
    assert rows["posture.daily_snapshot"]["last"] is None
    assert rows["posture.daily_snapshot"]["next_run"].endswith("T00:45:00Z")


def test_an_unknown_schedule_is_refused_with_the_names_there_are(
    sqlite_env: dict[str, str],
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    refused = assure("schedule", "run", "posture.weekly", env=sqlite_env)
    assert refused.returncode == 2
    assert "no schedule named 'posture.weekly'" in refused.stderr
    assert "posture.daily_snapshot" in refused.stderr


def test_a_failed_run_is_an_error_with_its_reason_and_may_be_run_again(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    broken = tmp_path / "retention.yaml"
    broken.write_text("version: 1\nrules: [{kind: nothing}]\n", "utf-8")
    env = {**sqlite_env, "ASSURE_RETENTION_POLICY": str(broken)}
    failed = assure("schedule", "run", "retention.sweep", env=env)
    assert failed.returncode == 2
    assert "retention.sweep failed:" in failed.stderr
    assert str(broken) in failed.stderr
    assert "Traceback" not in failed.stderr
    retried = assure("schedule", "run", "retention.sweep", "--json", env=sqlite_env)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"] == "succeeded"


def test_a_second_snapshot_at_the_same_moment_writes_nothing_twice(
    sqlite_env: dict[str, str],
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "1", "--as-of", "2026-11-01", env=sqlite_env)
    assert seeded.returncode == 0, seeded.stderr
    runs = [
        json.loads(
            assure("score", "--snapshot", "--json", "--as-of", "2026-11-02", env=sqlite_env).stdout
        )
        for _ in range(2)
    ]
    assert runs[0]["snapshots_stored"] == runs[0]["subjects"] > 0
    assert (runs[1]["snapshots_stored"], runs[1]["snapshot_already_stored"]) == (0, True)
    text = assure("score", "--snapshot", "--as-of", "2026-11-02", env=sqlite_env)
    assert "already stored; nothing was written again" in text.stdout
