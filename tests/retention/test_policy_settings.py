"""The operator's retention policy and the nightly schedule come from settings; `assure
retention` uses that policy unless `--policy` names another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.errors import ConfigError
from kernel.settings import load_settings
from tests.cli import assure
from tests.retention.test_cli_retention import _aged_estate, _counts

LONGER = """\
version: 1
rules:
  - kind: user_session
    from: session_ended
    days: 3650
    action: delete
    why: The data controller keeps ended sessions ten years for misconduct cases.
  - kind: withdrawn_product_evidence
    from: product_withdrawn
    days: 3650
    action: delete
    why: Evidence is kept ten years after a product is withdrawn, for contract disputes.
"""


def test_the_policy_and_schedule_are_read_from_the_environment_and_the_config_file(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"
    settings = load_settings(
        {
            "ASSURE_DATA_DIR": str(tmp_path),
            "ASSURE_RETENTION_POLICY": str(policy),
            "ASSURE_RETENTION_SCHEDULE": "false",
        }
    )
    assert (settings.retention_policy, settings.retention_schedule) == (policy, False)

    (tmp_path / "assure.toml").write_text(
        f'[assure]\nretention_policy = "{policy}"\nretention_schedule = false\n', "utf-8"
    )
    from_file = load_settings({"ASSURE_DATA_DIR": str(tmp_path)})
    assert (from_file.retention_policy, from_file.retention_schedule) == (policy, False)

    shipped = load_settings({"ASSURE_DATA_DIR": str(tmp_path / "elsewhere")})
    assert (shipped.retention_policy, shipped.retention_schedule) == (None, True)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ASSURE_RETENTION_SCHEDULE", "sometimes", "ASSURE_RETENTION_SCHEDULE"),
        ("ASSURE_RETENTION_POLICY", "policies/longer.yaml", "absolute path"),
    ],
)
def test_an_unusable_retention_setting_is_refused_in_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"ASSURE_DATA_DIR": str(tmp_path), name: value})
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_commands_use_the_configured_policy_unless_told_otherwise(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    before = _aged_estate(sqlite_env)
    policy = tmp_path / "longer.yaml"
    policy.write_text(LONGER, "utf-8")
    env = {**sqlite_env, "ASSURE_RETENTION_POLICY": str(policy)}

    shown = assure("retention", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)
    assert listed["policy"] == str(policy)
    assert [(r["kind"], r["days"], r["due"]) for r in listed["rules"]] == [
        ("user_session", 3650, 0),
        ("withdrawn_product_evidence", 3650, 0),
    ]

    kept = assure("retention", "sweep", "--json", env=env)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["policy"] == str(policy)
    assert _counts(sqlite_env) == before

    shipped = tmp_path / "shipped.yaml"
    shipped.write_text(
        Path(__file__).resolve().parents[2].joinpath("posture/data/retention.yaml").read_text(),
        "utf-8",
    )
    swept = assure("retention", "sweep", "--json", "--policy", str(shipped), env=env)
    assert swept.returncode == 0, swept.stderr
    assert _counts(sqlite_env)["sessions"] == 0


def test_a_configured_policy_that_is_refused_stops_the_commands_and_changes_nothing(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    before = _aged_estate(sqlite_env)
    policy = tmp_path / "broken.yaml"
    policy.write_text(LONGER.replace("days: 3650", "days: ten years", 1), "utf-8")
    env = {**sqlite_env, "ASSURE_RETENTION_POLICY": str(policy)}

    for command in (("show",), ("sweep",)):
        refused = assure("retention", *command, env=env)
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: {policy}: ")
        assert refused.stderr.count("\n") == 1
        assert "Traceback" not in refused.stderr
    assert _counts(sqlite_env) == before
