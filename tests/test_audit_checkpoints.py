"""`assure audit verify` against signed checkpoints: what the hash chain alone lets through.

Each scenario builds a trail in the data folder, signs a checkpoint with `assure audit
checkpoint`, tampers as an attacker would (straight in the database or the data folder), and
runs the real `assure audit verify`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import load_settings
from posture.audit import Actor, event_hash, record
from posture.audit_checkpoint import AuditCheckpoint, checkpoint_path, sign_checkpoint
from posture.audit_checkpoint_verify import (
    BAD_SIGNATURE,
    FOREIGN_KEY,
    NO_CHECKPOINT,
    PARTIAL_LINE,
    REHASHED,
    TRUNCATED,
)
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import AuditEvent
from pq_crypto.attestation import load_or_create_keys
from tests.cli import assure

ALICE = Actor(label="alice@force.example")


@dataclass
class Trail:
    env: dict[str, str]
    data_dir: Path
    sessions: sessionmaker[Session]

    def append(self, count: int) -> None:
        with transaction(self.sessions) as session:
            for index in range(count):
                record(session, ALICE, "answer.saved", "answer", index, {"level": index})

    def sql(self, statement: str, *parameters: object) -> None:
        with sqlite3.connect(self.data_dir / "assure.db") as connection:
            connection.execute(statement, parameters)

    def checkpoint(self, *extra: str) -> dict:
        result = assure("audit", "checkpoint", "--json", *extra, env=self.env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def verify(self, *extra: str) -> tuple[int, dict]:
        result = assure("audit", "verify", "--json", *extra, env=self.env)
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, json.loads(result.stdout)

    @property
    def checkpoint_file(self) -> Path:
        return checkpoint_path(self.data_dir)


@pytest.fixture
def trail(sqlite_env: dict[str, str]) -> Iterator[Trail]:
    data_dir = Path(sqlite_env["ASSURE_DATA_DIR"])
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(data_dir)}))
    migrate.upgrade(engine)
    yield Trail(sqlite_env, data_dir, session_factory(engine))
    engine.dispose()


def _codes(report: dict) -> list[str]:
    return [finding["code"] for finding in report["findings"]]


@pytest.mark.parametrize("deleted", [1, 50, 60], ids=["newest-1", "newest-50", "all"])
def test_deleting_the_newest_events_after_a_checkpoint_is_truncation(
    trail: Trail, deleted: int
) -> None:
    trail.append(60)
    trail.checkpoint()
    trail.sql("DELETE FROM audit_events WHERE id > ?", 60 - deleted)
    code, report = trail.verify()
    # The chain that is left links perfectly: only the checkpoint shows what is missing.
    assert report["first_break"] is None
    assert code == 1
    assert _codes(report) == [TRUNCATED]
    assert "event 60 is gone" in report["findings"][0]["message"]


def test_truncation_is_named_in_the_text_output(trail: Trail) -> None:
    trail.append(5)
    trail.checkpoint()
    trail.sql("DELETE FROM audit_events WHERE id = 5")
    result = assure("audit", "verify", env=trail.env)
    assert result.returncode == 1
    assert "truncated: it signed 5 events up to event 5" in result.stderr


def test_an_event_edited_and_every_later_one_rehashed_is_found(trail: Trail) -> None:
    trail.append(10)
    trail.checkpoint()
    with transaction(trail.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        previous = events[2].hash
        for event in events[3:]:
            if event.id == events[3].id:
                event.data = {"level": 999}
            event.prev_hash = previous
            event.hash = event_hash(event)
            previous = event.hash
    code, report = trail.verify()
    assert report["first_break"] is None  # re-hashed consistently: the chain alone passes
    assert code == 1
    assert _codes(report) == [REHASHED]


def test_a_tampered_checkpoint_line_is_found(trail: Trail) -> None:
    trail.append(10)
    trail.checkpoint()
    text = trail.checkpoint_file.read_text()
    trail.checkpoint_file.write_text(text.replace('"event_count":10', '"event_count":9'))
    code, report = trail.verify()
    assert code == 1
    assert _codes(report) == [BAD_SIGNATURE]


def test_a_checkpoint_signed_by_other_keys_is_found(trail: Trail, tmp_path: Path) -> None:
    trail.append(3)
    trail.checkpoint()
    checkpoint = AuditCheckpoint.model_validate(
        json.loads(trail.checkpoint_file.read_text())["checkpoint"]
    )
    forged = sign_checkpoint(checkpoint, load_or_create_keys(tmp_path / "mallory"))
    with trail.checkpoint_file.open("ab") as handle:
        handle.write(forged.line() + b"\n")
    code, report = trail.verify()
    assert code == 1
    assert _codes(report) == [FOREIGN_KEY]


def test_verify_says_what_the_latest_checkpoint_covers(trail: Trail) -> None:
    trail.append(10)
    trail.checkpoint()
    trail.append(3)
    code, report = trail.verify()
    assert code == 0
    assert (report["checkpoints"]["events_covered"], report["checkpoints"]["events_after"]) == (
        10,
        3,
    )
    text = assure("audit", "verify", env=trail.env).stdout
    assert "latest checkpoint covers 10 events" in text
    assert "3 appended after it" in text


def test_no_checkpoint_yet_warns_and_passes(trail: Trail) -> None:
    trail.append(3)
    result = assure("audit", "verify", env=trail.env)
    assert result.returncode == 0
    assert "no checkpoint: truncation cannot be detected" in result.stderr


def test_no_checkpoint_fails_when_one_is_required(trail: Trail) -> None:
    trail.append(3)
    code, report = trail.verify("--require-checkpoint")
    assert code == 1
    assert _codes(report) == [NO_CHECKPOINT]


def test_an_unfinished_last_line_is_reported_not_fatal(trail: Trail) -> None:
    trail.append(3)
    trail.checkpoint()
    line = trail.checkpoint_file.read_bytes()
    with trail.checkpoint_file.open("ab") as handle:
        handle.write(line[: len(line) // 2])  # a second write that never finished
    code, report = trail.verify()
    assert code == 0
    assert _codes(report) == [PARTIAL_LINE]
    assert report["findings"][0]["source"].endswith("line 2")


def test_an_export_verifies_and_carries_its_public_keys(trail: Trail, tmp_path: Path) -> None:
    trail.append(5)
    written = trail.checkpoint("--export", str(tmp_path / "checkpoint.json"))
    export = json.loads((tmp_path / "checkpoint.json").read_text())
    assert export["key_fingerprint"] == written["key_fingerprint"]
    assert export["signature"]["ml_dsa_65"]["public_key"]
    assert export["signature"]["ed25519"]["public_key"]
    code, report = trail.verify("--checkpoint", str(tmp_path / "checkpoint.json"))
    assert (code, report["findings"]) == (0, [])


def test_an_export_is_never_overwritten(trail: Trail, tmp_path: Path) -> None:
    trail.append(1)
    target = tmp_path / "checkpoint.json"
    target.write_text("keep me")
    result = assure("audit", "checkpoint", "--export", str(target), env=trail.env)
    assert result.returncode == 2
    assert target.read_text() == "keep me"


def test_only_the_export_catches_an_attacker_who_rewrote_the_data_folder(
    trail: Trail, tmp_path: Path
) -> None:
    trail.append(20)
    exported = tmp_path / "checkpoint.json"
    fingerprint = trail.checkpoint("--export", str(exported))["key_fingerprint"]
    # The attacker truncates the trail, then replaces the keys and the checkpoint file with
    # fresh ones that agree with the truncated chain.
    trail.sql("DELETE FROM audit_events WHERE id > 15")
    shutil.rmtree(trail.data_dir / "keys")
    trail.checkpoint_file.unlink()
    trail.checkpoint()
    local_code, _ = trail.verify()
    assert local_code == 0  # the local evidence now agrees with itself
    code, report = trail.verify("--checkpoint", str(exported), "--fingerprint", fingerprint)
    assert code == 1
    export_findings = [f["code"] for f in report["findings"] if f["source"].startswith("export")]
    assert TRUNCATED in export_findings
