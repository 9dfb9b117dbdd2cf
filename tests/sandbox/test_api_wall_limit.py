"""The sandbox's wall limit for a live API check covers every phase at its longest: killed at the
limit, a check keeps nothing it found, so a limit shorter than its phases turns a slow but
honest run into "not assessable"."""

from __future__ import annotations

import pytest

from checks.api.live import LiveSettings
from checks.api.phases import (
    FETCH_DEADLINE_SECONDS,
    MATRIX_SECONDS,
    PREFLIGHT_SECONDS,
    VALIDATION_SECONDS,
    around_run,
    probes_cap,
)
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import limits_for


@pytest.mark.parametrize("budget", [5, 40, 300, 3600])
def test_the_wall_limit_outlasts_every_phase(budget: int) -> None:
    settings = LiveSettings(budget_seconds=budget)
    check = SandboxedCheck(
        kind="api",
        file_name="openapi.json",
        base_url="http://127.0.0.1:9",
        live={"budget_seconds": budget},
    )
    phases = (
        FETCH_DEADLINE_SECONDS  # reading the description
        + VALIDATION_SECONDS  # validating it, with the remote documents it fetches
        + FETCH_DEADLINE_SECONDS  # bundling what the validator did not fetch
        + around_run(PREFLIGHT_SECONDS, budget)
        + budget
        + settings.hard_limit_margin
        + around_run(probes_cap(), budget)
        + around_run(MATRIX_SECONDS, budget)
    )
    wall = limits_for(check).wall_seconds
    assert wall > phases
    assert wall < phases + 120  # and not so long a hung check holds a worker for nothing


def test_a_lint_only_check_keeps_the_default_limit() -> None:
    check = SandboxedCheck(kind="api", file_name="openapi.json")
    assert limits_for(check) == limits_for(SandboxedCheck(kind="cbom", file_name="a.json"))
