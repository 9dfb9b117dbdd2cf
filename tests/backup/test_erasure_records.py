"""A backup taken after a person was erased carries the signed record of the erasure, so the
restored trail verifies; without the record it would not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from posture.audit import Actor
from posture.audit_checkpoint_verify import ERASURE_UNSIGNED, verify_trail
from posture.audit_erasures import erasures_path
from posture.backup.restore import restore_backup
from posture.backup.take import take_backup
from posture.erasure import erase_person
from posture.storage.engine import build_engine, session_factory
from posture.storage.models import User
from tests.backup.estate import PASSPHRASE, seed_estate, settings_for


def _erase_someone(data_dir: Path) -> None:
    engine = build_engine(settings_for(data_dir))
    try:
        sessions = session_factory(engine)
        with sessions() as session:
            email = session.scalars(select(User.email).order_by(User.id.desc())).first()
        assert email is not None
        erase_person(sessions, Actor("cli"), email, "DPO-31", data_dir)
    finally:
        engine.dispose()


def test_an_erasure_survives_a_backup_and_restore_with_its_signed_record(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    _erase_someone(source)
    taken = take_backup(settings_for(source), tmp_path / "e.tar", PASSPHRASE, include_keys=True)
    assert taken.manifest.erasures_included

    restored = tmp_path / "restored"
    report = restore_backup(settings_for(restored), taken.path, PASSPHRASE, skip_keys=False)

    assert report.checks.audit is not None
    assert report.checks.audit.intact, report.checks.audit.findings
    assert erasures_path(restored).read_bytes() == erasures_path(source).read_bytes()


def test_the_restored_trail_would_fail_without_the_record(tmp_path: Path) -> None:
    source = tmp_path / "data"
    seed_estate(source)
    _erase_someone(source)
    taken = take_backup(settings_for(source), tmp_path / "e.tar", PASSPHRASE, include_keys=True)
    restored = tmp_path / "restored"
    restore_backup(settings_for(restored), taken.path, PASSPHRASE, skip_keys=False)
    erasures_path(restored).unlink()
    engine = build_engine(settings_for(restored))
    try:
        with session_factory(engine)() as session:
            report = verify_trail(session, restored)
    finally:
        engine.dispose()
    assert [f.code for f in report.findings] == [ERASURE_UNSIGNED]
