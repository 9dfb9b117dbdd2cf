"""Upgrading the schema across migration 0020, which re-seals the audit trail with personal data
apart: every path that upgrades the database goes through `upgrade_database`.

Before: the checkpoints signed so far are compared with the trail as it still is, so the
re-seal never seals over events deleted or re-hashed since they were signed (once re-sealed,
those old checkpoints name hashes that no longer exist and are no longer compared). After: a
checkpoint is signed at once, so the re-sealed trail is pinned from its first moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import DatabaseError
from posture.audit import ChainIndex, EventPosition
from posture.audit_checkpoint import checkpoint_path, platform_fingerprint, write_checkpoint
from posture.audit_checkpoint_file import JsonLinesFile
from posture.audit_checkpoint_verify import Checked, compare_with_chain
from posture.audit_personal import PERSONAL_DATA_SEPARATED
from posture.storage import migrate
from posture.storage.engine import session_factory
from posture.storage.models import AuditEvent


@dataclass(frozen=True)
class Upgraded:
    revision: str
    checkpoint_written: bool


def _before_separation(engine: Engine) -> bool:
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table("audit_events"):
            return False
        names = {column["name"] for column in inspector.get_columns("audit_events")}
    return "personal_digest" not in names


def _old_chain(engine: Engine, wanted: set[int]) -> ChainIndex:
    """The chain before the re-seal, read as plain rows: the models describe the new schema."""
    found: dict[int, EventPosition] = {}
    first: tuple[int, EventPosition] | None = None
    count = 0
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, hash FROM audit_events ORDER BY id"))
        for event_id, stored_hash in rows:
            count += 1
            place = EventPosition(count, stored_hash)
            if first is None:
                first = (event_id, place)
            if event_id in wanted:
                found[event_id] = place
    return ChainIndex(count, *(first or (None, None)), found)


def check_before_reseal(engine: Engine, data_dir: Path) -> int:
    """Refuse the re-seal when the trail no longer matches a checkpoint; returns how many
    checkpoints were compared."""
    path = checkpoint_path(data_dir)
    lines = JsonLinesFile(path).read()
    if not lines.lines:
        return 0
    checked = Checked(platform_fingerprint(data_dir))
    if checked.trusted is None:
        raise DatabaseError(
            f"{path} holds audit checkpoints but the platform's signing keys are missing, so "
            "they cannot be checked before this upgrade re-seals the audit trail; restore the "
            "keys folder first"
        )
    checked.file(path, lines)
    problems = [f"{f.source}: {f.message}" for f in checked.findings if f.severity == "break"]
    index = _old_chain(engine, {c.tip_event_id for _, c in checked.usable if c.tip_event_id})
    for source, checkpoint in checked.usable:
        problem = compare_with_chain(checkpoint, index)
        if problem is not None:
            problems.append(f"{source}: {problem[1]}")
    if problems:
        raise DatabaseError(
            "the audit trail does not match its signed checkpoints, and this upgrade would "
            "re-seal it: investigate with `assure audit verify` on the release before; "
            + "; ".join(problems[:3])
        )
    return len(checked.usable)


def _has_new_checkpoint(data_dir: Path) -> bool:
    from posture.audit_checkpoint import parse_line

    for _, line in JsonLinesFile(checkpoint_path(data_dir)).read().lines:
        try:
            if not parse_line(line).checkpoint.names_legacy_hashes:
                return True
        except ValueError:
            continue
    return False


def checkpoint_after_reseal(sessions: sessionmaker[Session], data_dir: Path) -> bool:
    """Sign the re-sealed chain unless a checkpoint made since the re-seal exists."""
    with sessions() as session:
        resealed = session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == PERSONAL_DATA_SEPARATED).limit(1)
        )
    if resealed is None or _has_new_checkpoint(data_dir):
        return False
    return write_checkpoint(sessions, data_dir, "cli").written


def upgrade_database(engine: Engine, data_dir: Path, revision: str = "head") -> Upgraded:
    migrate.current_revision(engine)  # an unreachable database: its one-line error, first
    if _before_separation(engine):
        check_before_reseal(engine, data_dir)
    now = migrate.upgrade(engine, revision)
    if _before_separation(engine):
        return Upgraded(now, False)
    return Upgraded(now, checkpoint_after_reseal(session_factory(engine), data_dir))
