"""Store a scoring run as dated snapshots, for trends, movers and regressions.

One row per subject with its figures in columns, and one row per (subject, objective) in
posture_snapshot_objectives, all written with bulk Core inserts: the estate's size decides the
number of rows, never the number of statements per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.audit import Actor, hold_append_lock, record
from posture.framework_registry import register_framework
from posture.monitoring.alerts import record_band_changes
from posture.portfolio.blast_radius import relay_to_deployers
from posture.scoring.results import EstateScores
from posture.storage.models import PostureSnapshot
from posture.storage.models.enums import SubjectKind
from posture.storage.models.posture import PostureSnapshotObjective

# Rows per executemany: bounds the memory of one batch of bound parameters at 100k subjects.
CHUNK = 5_000


def snapshot_rows(
    scores: EstateScores, framework_version_id: int, policy_version: str, taken_at: datetime
) -> list[dict[str, Any]]:
    """One posture_snapshots row per subject, in subject order."""
    # tolist() turns numpy scalars into Python ones once per column, not once per cell.
    columns = zip(
        scores.score.tolist(),
        scores.confidence.tolist(),
        scores.capped.tolist(),
        scores.contradicted.tolist(),
        scores.not_applicable.tolist(),
        scores.gaps.tolist(),
        strict=True,
    )
    return [
        {
            "subject_kind": subject.kind,
            "organisation_id": subject.organisation_id,
            "product_id": subject.product_id,
            "framework_version_id": framework_version_id,
            "taken_at": taken_at,
            "score": score,
            "confidence": confidence,
            "band": band,
            "assessment_id": subject.assessment_id,
            "policy_version": policy_version,
            "capped": capped,
            "contradicted": contradicted,
            "not_applicable": not_applicable,
            "gaps": gaps,
            "detail": {},
        }
        for subject, band, (score, confidence, capped, contradicted, not_applicable, gaps) in zip(
            scores.subjects, scores.band, columns, strict=True
        )
    ]


ObjectiveRow = tuple[int, str, float | None]
OBJECTIVE_COLUMNS = ("snapshot_id", "objective_id", "score")
OBJECTIVES_INSERT = (
    "INSERT INTO posture_snapshot_objectives (snapshot_id, objective_id, score) VALUES (?, ?, ?)"
)


def objective_rows(scores: EstateScores, snapshot_ids: list[int]) -> list[ObjectiveRow]:
    """(snapshot id, objective, score) per subject and objective, None where unscored."""
    values = [
        None if value != value else value  # NaN: nothing under the objective applied
        for value in np.round(scores.objective_scores, 2).ravel().tolist()
    ]
    objectives = len(scores.objective_ids)
    ids = np.repeat(np.asarray(snapshot_ids, dtype=np.int64), objectives).tolist()
    return list(zip(ids, scores.objective_ids * len(snapshot_ids), values, strict=True))


def _insert_sqlite(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows (Core executemany, chunked) and return their ids in row order."""
    # Core on the table, not the ORM: its bulk path costs more per row than the database does.
    snapshots = PostureSnapshot.__table__
    for start in range(0, len(rows), CHUNK):
        connection.execute(insert(snapshots), rows[start : start + CHUNK])
    # SQLite does not promise RETURNING's order (SQLAlchemy would fall back to one INSERT per
    # row). It has one writer: from this transaction's first insert until its commit no one
    # else adds a row, and each new rowid is the largest plus one, so the newest ids are ours.
    newest = connection.scalars(
        select(snapshots.c.id).order_by(snapshots.c.id.desc()).limit(len(rows))
    ).all()
    return newest[::-1]


def _copy_postgresql(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    # COPY, not executemany: psycopg sends an executemany one row at a time, and a multi-row
    # VALUES costs it more to parse than the database takes to store the rows.
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_postgresql(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Take ids for every row from the table's sequence in one query, then COPY the rows."""
    snapshots = PostureSnapshot.__table__
    ids = connection.scalars(
        text(
            "SELECT nextval(pg_get_serial_sequence('posture_snapshots', 'id'))"
            " FROM generate_series(1, :count) ORDER BY 1"
        ),
        {"count": len(rows)},
    ).all()
    columns = ["id", *rows[0]]
    kind, detail = columns.index("subject_kind"), columns.index("detail")

    def copied(snapshot_id: int, row: dict[str, Any]) -> list[Any]:
        # COPY bypasses the column types: the kind is checked and detail written as text here.
        values = [snapshot_id, *row.values()]
        values[kind] = SubjectKind(values[kind]).value
        values[detail] = "{}"
        return values

    _copy_postgresql(connection, snapshots.name, columns, map(copied, ids, rows))
    return list(ids)


def _insert_rows(connection: Connection, scores: EstateScores, rows: list[dict[str, Any]]) -> None:
    if connection.dialect.name == "postgresql":
        objectives = objective_rows(scores, _insert_postgresql(connection, rows))
        table = PostureSnapshotObjective.__tablename__
        _copy_postgresql(connection, table, OBJECTIVE_COLUMNS, objectives)
        return
    objectives = objective_rows(scores, _insert_sqlite(connection, rows))
    # Plain tuples straight to the driver: three numbers and a name per row need no types, and
    # SQLAlchemy's per-row parameter handling would cost more than SQLite's insert.
    for start in range(0, len(objectives), CHUNK * 5):
        connection.exec_driver_sql(OBJECTIVES_INSERT, objectives[start : start + CHUNK * 5])


def snapshot_exists(session: Session, framework_version_id: int, taken_at: datetime) -> bool:
    return (
        session.scalar(
            select(PostureSnapshot.id)
            .where(
                PostureSnapshot.framework_version_id == framework_version_id,
                PostureSnapshot.taken_at == taken_at,
            )
            .limit(1)
        )
        is not None
    )


def snapshot_taken_on(session: Session, framework_version_id: int, day: date) -> datetime | None:
    """When that framework's snapshot of `day` (UTC) was taken, if one was."""
    start = datetime.combine(day, time(), UTC)
    return session.scalar(
        select(func.min(PostureSnapshot.taken_at)).where(
            PostureSnapshot.framework_version_id == framework_version_id,
            PostureSnapshot.taken_at >= start,
            PostureSnapshot.taken_at < start + timedelta(days=1),
        )
    )


def store_snapshots(
    session: Session,
    actor: Actor,
    loaded: LoadedFramework,
    scores: EstateScores,
    taken_at: datetime,
) -> int:
    """Store the run as snapshots taken at `taken_at`; 0 when that framework's snapshot at that
    moment is already stored (nothing is written twice)."""
    if taken_at.tzinfo is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    framework_row = register_framework(session, loaded)
    # Under the audit chain's lock, so of two runs for one moment the second sees the first's
    # rows: a second snapshot at the same moment would count every subject twice in the
    # league table and the trends.
    hold_append_lock(session)
    if snapshot_exists(session, framework_row.id, taken_at):
        return 0
    rows = snapshot_rows(scores, framework_row.id, loaded.scoring.policy_version, taken_at)
    if rows:
        _insert_rows(session.connection(), scores, rows)
    relay_to_deployers(session, record_band_changes(session, taken_at, framework_row.id))
    record(
        session,
        actor,
        "posture.snapshot",
        "posture_snapshots",
        taken_at.isoformat(),
        {
            "subjects": len(rows),
            "framework": f"{loaded.framework.framework_id} {loaded.framework.version}",
            "policy_version": loaded.scoring.policy_version,
        },
    )
    return len(rows)
