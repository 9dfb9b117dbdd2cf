"""An attacker who can write to the backup storage strips a sealed archive of its keys (keys
not included, no sealed member) and rewrites the database and its hashes, hoping the passphrase
is ignored. The restore refuses it whenever a passphrase is given, refuses any archive nothing
authenticates unless the operator accepts one by name, and then verifies the audit trail only
against a fingerprint the operator gives, never the one the archive records."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import key_fingerprint, take_backup
from tests.backup.crafting import data_of, edit_manifest, members_of, replace_member, written
from tests.backup.estate import PASSPHRASE, assure, seed_estate, settings_for

FORGED_NAME = "Product renamed by whoever forged the backup"


def _forged_database(database: bytes, work: Path) -> bytes:
    copy = work / "forged.db"
    copy.write_bytes(database)
    connection = sqlite3.connect(copy)
    connection.execute("UPDATE products SET name = ?", (FORGED_NAME,))
    connection.commit()
    connection.close()
    return copy.read_bytes()


def _stripped_of_its_keys(sealed: Path, out: Path) -> Path:
    """The downgrade: no sealed keys, a forged database, every hash made to agree."""
    members = [(i, d) for i, d in members_of(sealed) if i.name != "secrets.sealed"]
    forged = _forged_database(data_of(members)["database/assure.db"], out.parent)

    def downgrade(document: dict) -> None:
        document["keys_included"] = False
        document["sealed"] = None
        document["members"] = [m for m in document["members"] if m["name"] != "secrets.sealed"]
        for member in document["members"]:
            if member["name"] == "database/assure.db":
                member.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())

    edited = edit_manifest(members, downgrade)
    return written(out, replace_member(edited, "database/assure.db", forged))


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("downgrade")
    seed_estate(folder / "data")
    sealed = take_backup(
        settings_for(folder / "data"), folder / "sealed.tar", PASSPHRASE, include_keys=True
    )
    return {
        "data": folder / "data",
        "sealed": sealed.path,
        "forged": _stripped_of_its_keys(sealed.path, folder / "forged.tar"),
    }


def test_a_stripped_archive_is_refused_when_the_passphrase_is_given(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    for accepted in (False, True):
        target = tmp_path / f"restored-{accepted}"
        with pytest.raises(BackupError, match="a passphrase was given, but this archive holds no"):
            restore_backup(
                settings_for(target),
                estate["forged"],
                PASSPHRASE,
                skip_keys=False,
                accept_unauthenticated=accepted,
            )
        assert not target.exists()


def test_the_stripped_archive_is_refused_through_the_command_line_with_file_or_environment(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    restored = tmp_path / "restored"
    archive = str(estate["forged"])
    attempts = [
        assure("db", "restore", archive, "--passphrase-file", str(secret), data_dir=restored),
        assure("db", "restore", archive, data_dir=restored, ASSURE_BACKUP_PASSPHRASE=PASSPHRASE),
        assure(
            "db",
            "restore",
            archive,
            "--unauthenticated",
            "--exclude-keys",
            data_dir=restored,
            ASSURE_BACKUP_PASSPHRASE=PASSPHRASE,
        ),
    ]
    for done in attempts:
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("error: a passphrase was given, but this archive holds no")
        assert "Traceback" not in done.stderr
        assert not restored.exists()


def test_an_archive_nothing_authenticates_needs_the_operator_to_accept_it_by_name(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    restored = tmp_path / "restored"
    done = assure("db", "restore", str(estate["forged"]), data_dir=restored)
    assert done.returncode == 2
    assert "--unauthenticated" in done.stderr
    assert not restored.exists()
    # A genuine sealed archive restored without its passphrase is no better authenticated.
    keyless = assure("db", "restore", str(estate["sealed"]), "--exclude-keys", data_dir=restored)
    assert keyless.returncode == 2
    assert "--exclude-keys --unauthenticated" in keyless.stderr
    assert not restored.exists()


def test_the_fingerprint_an_unauthenticated_archive_records_is_not_trusted(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    """The attacker's own estate, signed by the attacker's keys, passed off as a backup: the
    manifest records the attacker's fingerprint, so only the operator's can judge the trail."""
    seed_estate(tmp_path / "attacker")
    fake = take_backup(
        settings_for(tmp_path / "attacker"), tmp_path / "fake.tar", None, include_keys=False
    )
    platform = key_fingerprint(estate["data"])
    assert platform is not None
    assert fake.manifest.checkpoint.key_fingerprint != platform

    unverified = assure(
        "db", "restore", str(fake.path), "--unauthenticated", data_dir=tmp_path / "r1"
    )
    assert unverified.returncode == 1
    assert "error: the audit trail was NOT verified" in unverified.stderr
    assert "--fingerprint" in unverified.stderr
    assert "audit trail intact" not in unverified.stdout

    judged = assure(
        "db",
        "restore",
        str(fake.path),
        "--unauthenticated",
        "--fingerprint",
        platform,
        "--json",
        data_dir=tmp_path / "r2",
    )
    assert judged.returncode == 1
    report = json.loads(judged.stdout)
    assert report["authenticated"] is False
    assert not report["checks"]["audit"]["intact"]
    assert "AUDIT-CP-KEY" in {f["code"] for f in report["checks"]["audit"]["findings"]}


def test_a_genuine_keyless_backup_restores_with_the_operators_fingerprint(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    taken = take_backup(
        settings_for(estate["data"]), tmp_path / "open.tar", None, include_keys=False
    )
    platform = key_fingerprint(estate["data"])
    assert platform is not None
    done = assure(
        "db",
        "restore",
        str(taken.path),
        "--unauthenticated",
        "--fingerprint",
        platform.upper(),
        data_dir=tmp_path / "restored",
    )
    assert done.returncode == 0, done.stderr
    assert "audit trail intact" in done.stdout


def test_a_fingerprint_that_is_not_64_hex_digits_is_refused_before_anything(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    done = assure(
        "db",
        "restore",
        str(estate["forged"]),
        "--unauthenticated",
        "--fingerprint",
        "not-a-fingerprint",
        data_dir=tmp_path / "restored",
    )
    assert done.returncode == 2
    assert "64 hex digits" in done.stderr
    assert not (tmp_path / "restored").exists()


def test_the_forgery_is_consistent_so_only_refusing_it_protects_the_operator(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    """Accepted as unauthenticated (what a passphrase silently ignored amounted to), the forged
    estate restores whole, audit trail and all: no later check would have caught it."""
    target = tmp_path / "restored"
    report = restore_backup(
        settings_for(target),
        estate["forged"],
        None,
        skip_keys=False,
        accept_unauthenticated=True,
        fingerprint=key_fingerprint(estate["data"]),
    )
    assert report.checks.copy_faithful
    assert not report.authenticated
    connection = sqlite3.connect(target / "assure.db")
    names = {row[0] for row in connection.execute("SELECT name FROM products")}
    connection.close()
    assert names == {FORGED_NAME}
