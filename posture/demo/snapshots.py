"""The demo's posture snapshots: two, months apart, so trends and band changes show from the
first sign-in. The same scoring and storage the daily snapshot schedule uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from posture.audit import SYSTEM
from posture.demo.estate import months_before
from posture.scoring.service import score_estate
from posture.scoring.snapshots import store_snapshots

SNAPSHOT_MONTHS_BEFORE = 2


def snapshot_dates(as_of: date) -> list[date]:
    return [months_before(as_of, SNAPSHOT_MONTHS_BEFORE), as_of]


def take_demo_snapshots(session: Session, as_of: date) -> dict[str, int]:
    """Snapshots of every force and product at each date; how many each stored."""
    loaded = default_framework()
    stored: dict[str, int] = {}
    for day in snapshot_dates(as_of):
        scores = score_estate(session, day, loaded=loaded, encodings="keep")
        # Midnight, as `assure score --snapshot --as-of DAY` takes it: the same snapshot.
        taken_at = datetime.combine(day, time(0, 0), tzinfo=UTC)
        stored[day.isoformat()] = store_snapshots(session, SYSTEM, loaded, scores, taken_at)
    return stored
