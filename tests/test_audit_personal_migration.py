"""Migration 0020 re-seals an existing audit trail with personal data apart. It is refused over
a broken trail or one that no longer matches its signed checkpoints; after it, the trail
verifies, a new checkpoint pins it at once, and the old checkpoints are no alibi for a trail
re-hashed later."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select

from kernel.errors import DatabaseError
from kernel.settings import load_settings
from posture.audit import GENESIS_HASH, Actor, event_hash
from posture.audit_checkpoint import (
    LEGACY_CHECKPOINT_FORMAT,
    AuditCheckpoint,
    checkpoint_path,
    sign_checkpoint,
    signing_keys,
)
from posture.audit_checkpoint_file import JsonLinesFile
from posture.audit_checkpoint_verify import REHASHED, RESEAL_UNPINNED, verify_trail
from posture.audit_reseal import upgrade_database
from posture.erasure import erase_person
from posture.storage import migrate
from posture.storage.base import JsonDocument, UtcDateTime
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import AuditEvent, AuditPersonal
from tests.cli import assure

BEFORE = "0019_dashboard_indexes"
ALICE = "alice@supplier.example"
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
OLD_EVENTS = [
    # (actor label, user id, action, data)
    ("cli", None, "user.created", {"email": ALICE}),
    (ALICE, 1, "auth.login", {"method": "password"}),
    (ALICE, 1, "product.updated", {"changed": {"description": {"before": "", "after": "x"}}}),
    ("worker", None, "job.finished", {"status": "ok"}),
    ("bob@force.example", 2, "answer.reviewed", {"outcome_id": "A1.a", "message": "Fine"}),
]


def _old_trail(engine: Engine, break_at: int | None = None) -> list[str]:
    """Events as a release before 0020 wrote them (format 1: personal data hashed)."""
    hashes = []
    prev = GENESIS_HASH
    table = sa.table(
        "audit_events",
        *(sa.column(c) for c in ("id", "actor_user_id", "actor_label", "organisation_id")),
        *(sa.column(c) for c in ("action", "object_type", "object_id", "prev_hash", "hash")),
        sa.column("occurred_at", UtcDateTime()),
        sa.column("data", JsonDocument),
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (id, email, display_name, is_active, failed_logins, created_at) "
            "VALUES (1, 'alice@supplier.example', 'Alice', true, 0, '2026-11-01'), "
            "(2, 'bob@force.example', 'Bob', true, 0, '2026-11-01')"
        )
        for number, (label, user_id, action, data) in enumerate(OLD_EVENTS, start=1):
            row = SimpleNamespace(
                occurred_at=T0 + timedelta(minutes=number),
                actor_user_id=user_id,
                actor_label=label,
                organisation_id=None,
                action=action,
                object_type="thing",
                object_id=str(number),
                data=data,
                format=1,
                personal_digest=None,
                prev_hash=prev,
            )
            digest = event_hash(row)
            if number == break_at:
                row.data = {**data, "tampered": True}
            values = {k: v for k, v in vars(row).items() if k not in ("format", "personal_digest")}
            connection.execute(table.insert().values(id=number, **values, hash=digest))
            hashes.append(digest)
            prev = digest
    return hashes


def _legacy_checkpoint(data_dir: Path, hashes: list[str], upto: int) -> None:
    checkpoint = AuditCheckpoint(
        format=LEGACY_CHECKPOINT_FORMAT,
        event_count=upto,
        tip_event_id=upto,
        tip_hash=hashes[upto - 1],
        first_event_id=1,
        first_hash=hashes[0],
        created_at=T0 + timedelta(hours=1),
        written_by="worker",
    )
    with JsonLinesFile(checkpoint_path(data_dir)).appending() as appending:
        appending.append(sign_checkpoint(checkpoint, signing_keys(data_dir)).line())


@pytest.fixture
def old_database(tmp_path: Path) -> tuple[Engine, Path]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(data_dir)}))
    migrate.upgrade(engine, BEFORE)
    yield engine, data_dir
    engine.dispose()


def test_an_existing_trail_is_resealed_pinned_at_once_and_verifies(
    old_database: tuple[Engine, Path],
) -> None:
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    _legacy_checkpoint(data_dir, hashes, 2)
    _legacy_checkpoint(data_dir, hashes, 5)
    upgraded = upgrade_database(engine, data_dir)
    assert upgraded.revision == migrate.head_revision()
    assert upgraded.checkpoint_written
    sessions = session_factory(engine)
    with sessions() as session:
        report = verify_trail(session, data_dir)
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert report.intact, (report.chain.first_break, report.findings)
        assert report.findings == ()
        assert report.events_covered == 6
        assert [e.shown_data for e in events[:5]] == [d for *_, d in OLD_EVENTS]
        assert events[1].actor_label == "user"
        assert events[1].shown_actor == ALICE
        assert events[3].actor_label == "worker"
        assert events[3].personal is None
        marker = events[5]
        assert marker.action == "audit.personal_data_separated"
        assert marker.data == {"converted_events": 5, "legacy_tip_event_id": 5}
        hashed_now = " ".join(str(e.data) + e.actor_label for e in events)
        assert ALICE not in hashed_now


def test_a_trail_cut_short_since_its_checkpoint_is_not_resealed(
    old_database: tuple[Engine, Path],
) -> None:
    """Deleting the newest events leaves a chain that links: only the checkpoint shows it,
    and a re-seal would make that checkpoint unanswerable."""
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    _legacy_checkpoint(data_dir, hashes, 5)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_events WHERE id = 5")
    with pytest.raises(DatabaseError, match="does not match its signed checkpoints"):
        upgrade_database(engine, data_dir)
    assert migrate.current_revision(engine) == BEFORE


def test_old_checkpoints_are_no_alibi_for_a_trail_rehashed_after_the_reseal(
    old_database: tuple[Engine, Path],
) -> None:
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    _legacy_checkpoint(data_dir, hashes, 5)
    upgrade_database(engine, data_dir)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        previous = events[0].hash
        for event in events[1:]:
            if event.id == 2:
                event.object_id = "forged"
            event.prev_hash = previous
            event.hash = event_hash(event)
            previous = event.hash
    with sessions() as session:
        report = verify_trail(session, data_dir)
    assert not report.intact
    assert [f.code for f in report.findings] == [REHASHED]


def test_a_broken_trail_is_refused_and_the_schema_left_as_it_was(
    old_database: tuple[Engine, Path],
) -> None:
    engine, data_dir = old_database
    _old_trail(engine, break_at=3)
    with pytest.raises(DatabaseError, match="broken at event 3"):
        upgrade_database(engine, data_dir)
    assert migrate.current_revision(engine) == BEFORE
    with engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("audit_events")}
    assert "personal_digest" not in columns


def test_a_conversion_cut_short_is_done_again_whole(old_database: tuple[Engine, Path]) -> None:
    """SQLite keeps columns added before a failure; the retry must not trip over them."""
    engine, data_dir = old_database
    _old_trail(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "ALTER TABLE audit_events ADD COLUMN format SMALLINT NOT NULL DEFAULT 1"
        )
        connection.exec_driver_sql(
            "ALTER TABLE audit_events ADD COLUMN personal_digest VARCHAR(64)"
        )
    upgrade_database(engine, data_dir)
    with session_factory(engine)() as session:
        assert verify_trail(session, data_dir).intact


def test_a_downgrade_puts_the_trail_back_as_it_was(old_database: tuple[Engine, Path]) -> None:
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    upgrade_database(engine, data_dir)
    migrate.downgrade(engine, BEFORE)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT hash, actor_label FROM audit_events ORDER BY id")
        ).all()
    assert [r.hash for r in rows] == hashes
    assert rows[1].actor_label == ALICE


def test_a_downgrade_is_refused_once_a_person_was_erased(
    old_database: tuple[Engine, Path],
) -> None:
    engine, data_dir = old_database
    _old_trail(engine)
    upgrade_database(engine, data_dir)
    erase_person(session_factory(engine), Actor("cli"), ALICE, "DPO-4", data_dir)
    with pytest.raises(DatabaseError, match="cannot be downgraded"):
        migrate.downgrade(engine, BEFORE)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with session_factory(engine)() as session:
        assert session.scalar(select(sa.func.count()).select_from(AuditPersonal)) > 0


def test_assure_db_upgrade_signs_the_resealed_trail_at_once(
    old_database: tuple[Engine, Path],
) -> None:
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    _legacy_checkpoint(data_dir, hashes, 5)
    env = {**os.environ, "ASSURE_DATA_DIR": str(data_dir)}
    env.pop("ASSURE_DATABASE_URL", None)
    upgraded = assure("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "checkpoint written" in upgraded.stdout
    lines = checkpoint_path(data_dir).read_text().splitlines()
    newest = json.loads(lines[-1])["checkpoint"]
    assert newest["format"] == "policetech-assure/audit-checkpoint/v2"
    assert newest["event_count"] == 6  # the five converted and the re-seal's own event
    again = assure("db", "upgrade", env=env)
    assert "checkpoint" not in again.stdout
    verified = assure("audit", "verify", "--json", "--require-checkpoint", env=env)
    assert verified.returncode == 0, verified.stdout


def test_a_resealed_trail_no_checkpoint_pins_is_a_break(old_database: tuple[Engine, Path]) -> None:
    """Upgraded some other way, with the checkpoint after the re-seal never written: the old
    checkpoints no longer apply, so a rewritten history would otherwise pass unseen."""
    engine, data_dir = old_database
    hashes = _old_trail(engine)
    _legacy_checkpoint(data_dir, hashes, 5)
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        report = verify_trail(session, data_dir)
    assert not report.intact
    assert [f.code for f in report.findings] == [RESEAL_UNPINNED]
