"""0016 moves what dashboards read out of posture_snapshots.detail into columns and the objective
side table: snapshots written before it read back the same after it, on SQLite and PostgreSQL,
and a downgrade puts them back into detail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from posture.storage import migrate
from posture.storage.base import JsonDocument, UtcDateTime

BEFORE = "0015_identity_epoch"
TAKEN = datetime(2026, 10, 1, 6, tzinfo=UTC)
# More rows than one backfill batch (2,000), so the batches must resume where they stopped.
FILLER = 2_300

old_snapshots = sa.table(
    "posture_snapshots",
    sa.column("id", sa.Integer()),
    sa.column("subject_kind", sa.String()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("product_id", sa.Integer()),
    sa.column("framework_version_id", sa.Integer()),
    sa.column("taken_at", UtcDateTime()),
    sa.column("score", sa.Float()),
    sa.column("confidence", sa.Float()),
    sa.column("band", sa.String()),
    sa.column("detail", JsonDocument),
)

FULL = {
    "assessment_id": 7,
    "policy_version": "1.0",
    "capped": True,
    "contradicted": 2,
    "not_applicable": 1,
    "gaps": 3,
    "objectives": {"A": 40.0, "B": None},
}
OLD_DETAILS: dict[int, dict[str, Any]] = {
    1: FULL,
    2: {**FULL, "assessment_id": None, "capped": False, "objectives": {"A": 90.0}},
    # A key no column took stays in detail.
    3: {**FULL, "note": "kept"},
    # Hand-edited or truncated documents: wrong types become unknowns, never a failed upgrade.
    4: {"contradicted": "lots", "capped": "yes", "gaps": True, "objectives": ["A"]},
    5: {"objectives": {"x" * 65: 10.0, "C": "high", "D": 12}},
    6: {},
}


def _old_estate(connection: Connection) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO framework_versions (id, framework_id, version, title, content_sha256,"
            " loaded_at) VALUES (1, 'ptsbd', '1.0', 'Framework', :sha, CURRENT_TIMESTAMP)"
        ),
        {"sha": "0" * 64},
    )
    connection.execute(
        sa.text(
            "INSERT INTO organisations (id, slug, name, kind, created_at) "
            "VALUES (1, 'old', 'Old Ltd', 'supplier', CURRENT_TIMESTAMP)"
        )
    )
    subject = {
        "subject_kind": "organisation",
        "organisation_id": 1,
        "product_id": None,
        "framework_version_id": 1,
        "taken_at": TAKEN,
        "score": 50.0,
        "confidence": 0.5,
        "band": "C",
    }
    rows = [{**subject, "id": row_id, "detail": detail} for row_id, detail in OLD_DETAILS.items()]
    rows += [
        {**subject, "id": 100 + n, "detail": {**FULL, "objectives": {"A": float(n % 97)}}}
        for n in range(FILLER)
    ]
    connection.execute(sa.insert(old_snapshots), rows)


def _columns(connection: Connection) -> dict[int, tuple[Any, ...]]:
    rows = connection.execute(
        sa.text(
            "SELECT id, assessment_id, policy_version, capped, contradicted, not_applicable,"
            " gaps FROM posture_snapshots"
        )
    )
    return {row[0]: (row[1], row[2], bool(row[3]), *row[4:]) for row in rows}


def _objectives(connection: Connection) -> dict[int, dict[str, float | None]]:
    found: dict[int, dict[str, float | None]] = {}
    for snapshot_id, objective_id, score in connection.execute(
        sa.text("SELECT snapshot_id, objective_id, score FROM posture_snapshot_objectives")
    ):
        found.setdefault(snapshot_id, {})[objective_id] = score
    return found


def _details(connection: Connection) -> dict[int, dict[str, Any]]:
    query = sa.select(old_snapshots.c.id, old_snapshots.c.detail)
    return {row_id: detail for row_id, detail in connection.execute(query)}


def test_old_snapshots_read_back_the_same_after_the_upgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as connection:
        _old_estate(connection)
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        columns, objectives, details = (
            _columns(connection),
            _objectives(connection),
            _details(connection),
        )
    assert columns[1] == (7, "1.0", True, 2, 1, 3)
    assert objectives[1] == {"A": 40.0, "B": None}
    assert columns[2] == (None, "1.0", False, 2, 1, 3)
    assert objectives[2] == {"A": 90.0}
    assert details[3] == {"note": "kept"}
    assert columns[4] == (None, None, False, 0, 0, 0)
    assert 4 not in objectives
    # Too long to be an objective id, and a score that is not a number, are dropped or unknown.
    assert objectives[5] == {"C": None, "D": 12.0}
    assert columns[6] == (None, None, False, 0, 0, 0)
    assert all(details[row_id] == {} for row_id in (1, 2, 4, 5, 6))
    assert len(columns) == len(OLD_DETAILS) + FILLER
    assert {row_id: scores for row_id, scores in objectives.items() if row_id >= 100} == {
        100 + n: {"A": float(n % 97)} for n in range(FILLER)
    }


def test_a_downgrade_puts_the_columns_back_into_detail(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as connection:
        _old_estate(connection)
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        # A snapshot written after the upgrade, with its figures only in the new places.
        connection.execute(
            sa.insert(old_snapshots),
            [
                {
                    "id": 50,
                    "subject_kind": "organisation",
                    "organisation_id": 1,
                    "product_id": None,
                    "framework_version_id": 1,
                    "taken_at": TAKEN,
                    "score": 60.0,
                    "confidence": 0.7,
                    "band": "B",
                    "detail": {},
                }
            ],
        )
        connection.execute(
            sa.text(
                "UPDATE posture_snapshots SET assessment_id = 9, policy_version = '1.0',"
                " contradicted = 1 WHERE id = 50"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO posture_snapshot_objectives (snapshot_id, objective_id, score)"
                " VALUES (50, 'A', 61.5), (50, 'B', NULL)"
            )
        )
    assert migrate.downgrade(empty_engine, BEFORE) == BEFORE
    with empty_engine.connect() as connection:
        details = _details(connection)
        tables = sa.inspect(connection).get_table_names()
    assert "posture_snapshot_objectives" not in tables
    assert details[1] == FULL
    assert details[3] == {**FULL, "note": "kept"}
    assert details[50] == {
        "assessment_id": 9,
        "policy_version": "1.0",
        "capped": False,
        "contradicted": 1,
        "not_applicable": 0,
        "gaps": 0,
        "objectives": {"A": 61.5, "B": None},
    }
    assert details[100 + 5] == {**FULL, "objectives": {"A": 5.0}}
    # Upgrading again reaches the same state as the first time.
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        assert _objectives(connection)[1] == {"A": 40.0, "B": None}
        assert _columns(connection)[50] == (9, "1.0", False, 1, 0, 0)
