from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.settings import Settings
from posture.framework_registry import register_framework
from posture.storage.engine import transaction
from posture.storage.models import PostureSnapshot
from posture.storage.models.enums import SubjectKind
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
EARLIER = datetime(2026, 10, 1, 6, tzinfo=UTC)
LATER = datetime(2026, 11, 1, 6, tzinfo=UTC)


def _snapshot(world: World, org: str, when: datetime, score: float, band: str, **objectives):  # type: ignore[no-untyped-def]
    product_id = world.orgs[org].product_id if org.startswith("s") else None
    return PostureSnapshot(
        subject_kind=SubjectKind.PRODUCT if product_id else SubjectKind.ORGANISATION,
        organisation_id=world.orgs[org].organisation_id,
        product_id=product_id,
        framework_version_id=0,
        taken_at=when,
        score=score,
        confidence=0.8,
        band=band,
        # s1's latest run has one claim contradicted by a check.
        detail={"objectives": objectives, "contradicted": int(org == "s1" and when == LATER)},
    )


@pytest.fixture
def snapshots(world_db: Db) -> Db:
    world, sessions, settings = world_db
    with transaction(sessions) as session:
        version_id = register_framework(session, default_framework()).id
        rows = [
            _snapshot(world, "s1", EARLIER, 70.0, "B", A=70.0, B=70.0),
            _snapshot(world, "s2", EARLIER, 50.0, "C", A=50.0, B=50.0),
            _snapshot(world, "s1", LATER, 55.5, "C", A=40.0, B=71.0),
            _snapshot(world, "s2", LATER, 50.4, "C", A=45.0, B=None),
            _snapshot(world, "f1", LATER, 80.0, "A", A=90.0, B=30.0),
        ]
        for row in rows:
            row.framework_version_id = version_id
        session.add_all(rows)
    return world, sessions, settings
