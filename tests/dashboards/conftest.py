from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.settings import Settings
from posture.dashboards import PERMISSION
from posture.framework_registry import register_framework
from posture.identity import permissions
from posture.identity.permissions import PermissionTable
from posture.storage.engine import transaction
from posture.storage.models import PostureSnapshot
from posture.storage.models.enums import Role, SubjectKind
from posture.storage.models.posture import PostureSnapshotObjective
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
EARLIER = datetime(2026, 10, 1, 6, tzinfo=UTC)
LATER = datetime(2026, 11, 1, 6, tzinfo=UTC)


def snapshot_row(
    world: World, org: str, when: datetime, score: float, band: str, **objectives: float | None
) -> dict[str, Any]:
    """One subject's snapshot as store_snapshots writes it; `objectives` go to the side table."""
    product_id = world.orgs[org].product_id if org.startswith("s") else None
    return {
        "subject_kind": SubjectKind.PRODUCT if product_id else SubjectKind.ORGANISATION,
        "organisation_id": world.orgs[org].organisation_id,
        "product_id": product_id,
        "taken_at": when,
        "score": score,
        "confidence": 0.8,
        "band": band,
        # s1's latest run has one claim contradicted by a check.
        "contradicted": int(org == "s1" and when == LATER),
        "objectives": objectives,
    }


def add_snapshots(session: Session, rows: list[dict[str, Any]]) -> None:
    version_id = register_framework(session, default_framework()).id
    for row in rows:
        objectives = row.pop("objectives")
        snapshot = PostureSnapshot(framework_version_id=version_id, **row)
        session.add(snapshot)
        session.flush()
        session.add_all(
            PostureSnapshotObjective(snapshot_id=snapshot.id, objective_id=key, score=value)
            for key, value in objectives.items()
        )


@pytest.fixture
def snapshots(world_db: Db) -> Db:
    world, sessions, settings = world_db
    with transaction(sessions) as session:
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", EARLIER, 70.0, "B", A=70.0, B=70.0),
                snapshot_row(world, "s2", EARLIER, 50.0, "C", A=50.0, B=50.0),
                snapshot_row(world, "s1", LATER, 55.5, "C", A=40.0, B=71.0),
                snapshot_row(world, "s2", LATER, 50.4, "C", A=45.0, B=None),
                snapshot_row(world, "f1", LATER, 80.0, "A", A=90.0, B=30.0),
            ],
        )
    return world, sessions, settings


@pytest.fixture
def own_scope_dashboards(monkeypatch: pytest.MonkeyPatch) -> None:
    """A permission table in which supplier admins and force assessors see the dashboards for
    their own organisations only (the shipped table lets only estate-wide roles in)."""
    table = permissions.permission_table()
    rule = table.permissions[PERMISSION]
    grants = {**rule.grants, Role.SUPPLIER_ADMIN: "own", Role.FORCE_ASSESSOR: "own"}
    narrowed = rule.model_copy(update={"grants": grants})
    patched = PermissionTable(permissions={**table.permissions, PERMISSION: narrowed})
    monkeypatch.setattr(permissions, "permission_table", lambda: patched)
