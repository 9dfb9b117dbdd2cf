"""The migration milestones a check run judged, as rows of check_run_milestones.

A run's result holds its milestones (checks.report.MilestoneStatus); they are copied out once,
when the run is recorded, so the estate's post-quantum view reads a few short rows per run
instead of decoding every run's whole result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert

from posture.storage.models import CheckRunMilestone

STATUSES = ("met", "not met", "not assessed")
MAX_ID = 64


def milestone_rows(check_run_id: int, result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One row per milestone id, the first entry winning. A status outside STATUSES counts as
    not assessed: a milestone is met only when a run said so in the words checks use."""
    listed = (result or {}).get("milestones")
    rows: dict[str, dict[str, Any]] = {}
    for entry in listed if isinstance(listed, list) else ():
        if not isinstance(entry, Mapping):
            continue
        milestone = entry.get("id")
        if not isinstance(milestone, str) or not milestone or len(milestone) > MAX_ID:
            continue
        status = entry.get("status")
        rows.setdefault(
            milestone,
            {
                "check_run_id": check_run_id,
                "milestone_id": milestone,
                "status": status if status in STATUSES else "not assessed",
            },
        )
    return list(rows.values())


def record_milestones(
    connection: Connection, runs: Iterable[tuple[int, Mapping[str, Any] | None]]
) -> int:
    rows = [row for run_id, result in runs for row in milestone_rows(run_id, result)]
    for start in range(0, len(rows), 10_000):
        connection.execute(insert(CheckRunMilestone), rows[start : start + 10_000])
    return len(rows)
