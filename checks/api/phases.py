"""The longest each phase of a live API check may take, in one place.

The sandbox kills a check that outlives its wall limit and keeps nothing it found, so the limit
must cover every phase the check runs in turn: reading and validating the description, bundling
its references, proving the identities, the schemathesis run (its budget and the margin to
write its reports), the probes and the authorisation matrix. The phases around the
schemathesis run each get their own cap and never more than a quarter of its budget, so a
short budget is not spent on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.api.live import LiveSettings

# Wall clock for fetching one description or remote document, headers and body together: a
# peer that drips bytes inside the per-read timeout is cut here rather than holding the check.
# Bundling shares one such deadline for whatever the validator did not already fetch.
FETCH_DEADLINE_SECONDS = 30.0
# openapi-spec-validator is pure Python and slow on large descriptions; validation, with the
# remote documents it fetches, stops at this wall-clock limit.
VALIDATION_SECONDS = 30.0
PREFLIGHT_SECONDS = 20.0  # every identity together
MATRIX_SECONDS = 20.0
# Starting the interpreter, scoring and writing the report.
SLACK_SECONDS = 30.0


def around_run(cap: float, budget_seconds: float) -> float:
    """A phase before or after the schemathesis run: its cap, or a quarter of the budget."""
    return min(cap, budget_seconds / 4)


def probes_cap() -> float:
    from checks.api.live_probes.client import probe_book

    return probe_book().total_seconds


def wall_seconds(settings: LiveSettings) -> float:
    """What the sandbox waits for: every phase at its longest."""
    load = FETCH_DEADLINE_SECONDS + VALIDATION_SECONDS + FETCH_DEADLINE_SECONDS
    around = sum(
        around_run(cap, settings.budget_seconds)
        for cap in (PREFLIGHT_SECONDS, probes_cap(), MATRIX_SECONDS)
    )
    return load + settings.budget_seconds + settings.hard_limit_margin + around + SLACK_SECONDS
