"""The README's first screen keeps its promise: two commands, and CI runs the test one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first_screen_commands() -> list[str]:
    first_screen = "\n".join(ROOT.joinpath("README.md").read_text().splitlines()[:25])
    return re.findall(r"```sh\n(.+?)\n```", first_screen)


def test_the_first_screen_has_exactly_two_commands() -> None:
    commands = _first_screen_commands()
    assert len(commands) == 2
    assert commands[0].endswith("assure serve")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    assert _first_screen_commands()[1] in ROOT.joinpath(".ci/run").read_text()
