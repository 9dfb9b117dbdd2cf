"""A policy file that is wrong or hostile is refused with a clear error before anything runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kernel.errors import ValidationFailed
from posture.retention.policy import load_policy, parse_policy, shipped_policy_text

SHIPPED = shipped_policy_text()


def _with(old: str, new: str) -> str:
    assert old in SHIPPED
    return SHIPPED.replace(old, new, 1)


DUPLICATE = SHIPPED + (
    "  - kind: sign_in_address\n    from: throttle_window_started\n    days: 3650\n"
    "    action: delete\n    why: a second rule for the same kind of record\n"
)
EXTRA_KEY = _with("    why: >-\n      A session", "    keep_forever: true\n    why: >-\n      A")
PURGE = _with("days: 90\n    action: delete\n", "days: 90\n    action: purge\n")
WRONG = [
    (_with("kind: judge_conflict", "kind: every_user"), "'every_user' is not a known record"),
    (_with("days: 30\n", "days: -30\n"), "greater than or equal to 1"),
    (_with("days: 30\n", "days: 0\n"), "greater than or equal to 1"),
    (_with("days: 30\n", "days: 99999999\n"), "less than or equal to 36500"),
    (_with("days: 30\n", 'days: "30"\n'), "valid integer"),
    (_with("days: 30\n", "days: true\n"), "valid integer"),
    (PURGE, "'delete' or 'reduce'"),
    (_with("action: reduce", "action: delete"), "challenge_entry: action 'delete' is not offered"),
    (_with("clear: [proposal,", "clear: [title,"), "not title"),
    (_with("from: session_ended", "from: session_created"), "runs from 'session_ended'"),
    (_with("version: 1", "version: 2"), "version"),
    (EXTRA_KEY, "Extra inputs are not permitted"),
    (DUPLICATE, "'sign_in_address' has two rules"),
    ("- just\n- a list\n", "valid dictionary"),
    ("version: 1\nrules: [\n", "not valid YAML"),
    ("", "valid dictionary"),
]


@pytest.mark.parametrize(("text", "says"), WRONG, ids=[says for _, says in WRONG])
def test_a_wrong_policy_is_refused_with_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_policy(text)
    assert says in str(refused.value)
    assert "Traceback" not in str(refused.value)


def test_a_yaml_alias_bomb_is_refused_at_once() -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9)
    )
    started = time.monotonic()
    with pytest.raises(ValidationFailed, match="alias"):
        parse_policy(bomb)
    assert time.monotonic() - started < 1


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ValidationFailed, match=r"nested|deep"):
        parse_policy("version: 1\nrules: " + "[" * 5000 + "]" * 5000)


def test_a_ten_megabyte_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    huge = tmp_path / "retention.yaml"
    huge.write_text(SHIPPED + "# padding\n" * (1024 * 1024), "utf-8")
    assert huge.stat().st_size > 10 * 1024 * 1024
    with pytest.raises(ValidationFailed, match="larger than the 64 KB"):
        load_policy(huge)


def test_a_missing_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cannot be read"):
        load_policy(tmp_path / "absent.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00version: 1")
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        load_policy(binary)


def test_the_shipped_policy_names_every_kind_once_with_a_reason() -> None:
    from posture.retention.kinds import KINDS

    policy = load_policy()
    assert sorted(rule.kind for rule in policy.rules) == sorted(KINDS)
    assert all(len(rule.why) > 40 for rule in policy.rules)
