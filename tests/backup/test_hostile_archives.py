"""A restore refuses archives that are damaged, truncated or crafted, before it writes anything
(or removes everything it wrote): paths out of the folder, links and devices, names twice,
members larger than the manifest says, size bombs, a manifest that lies, a wrong passphrase."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from posture.backup.manifest import BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import take_backup
from tests.backup.crafting import (
    data_of,
    edit_manifest,
    members_of,
    replace_member,
    upload_names,
    written,
)
from tests.backup.estate import PASSPHRASE, seed_estate, settings_for


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One estate backed up twice: with its keys sealed, and with --exclude-keys."""
    folder = tmp_path_factory.mktemp("hostile")
    seed_estate(folder / "data")
    settings = settings_for(folder / "data")
    return {
        "sealed": take_backup(settings, folder / "sealed.tar", PASSPHRASE, include_keys=True).path,
        "open": take_backup(settings, folder / "open.tar", None, include_keys=False).path,
    }


def refused(archive: Path, tmp_path: Path, match: str, passphrase: str | None = None) -> None:
    """The restore fails with `match` and leaves no data folder behind. An unauthenticated
    archive is accepted, so that every later check is reached."""
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=match):
        restore_backup(
            settings_for(target), archive, passphrase, skip_keys=False, accept_unauthenticated=True
        )
    assert not target.exists(), sorted(p.name for p in target.rglob("*"))


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o600
    return info


@pytest.mark.parametrize(
    "name", ["../escaped", "/tmp/escaped", "uploads/../../escaped", "uploads/evil", "keys/x"]
)
def test_a_member_outside_the_backup_layout_is_refused(
    archives: dict[str, Path], tmp_path: Path, name: str
) -> None:
    members = [*members_of(archives["open"]), (_member(name), b"owned\n")]
    refused(written(tmp_path / "a.tar", members), tmp_path, "not a backup member")
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (tarfile.SYMTYPE, "a symbolic link"),
        (tarfile.LNKTYPE, "a hard link"),
        (tarfile.CHRTYPE, "a character device"),
        (tarfile.DIRTYPE, "a folder"),
        (tarfile.FIFOTYPE, "a FIFO"),
    ],
)
def test_links_devices_and_folders_are_refused(
    archives: dict[str, Path], tmp_path: Path, kind: bytes, what: str
) -> None:
    members = members_of(archives["open"])
    name = upload_names(members)[0]
    crafted = [(i, d) for i, d in members if i.name != name] + [
        (_member(name, kind, "/etc/passwd"), b"")
    ]
    refused(written(tmp_path / "a.tar", crafted), tmp_path, what)


def test_a_member_held_twice_is_refused(archives: dict[str, Path], tmp_path: Path) -> None:
    members = members_of(archives["open"])
    first = next(m for m in members if m[0].name.startswith("uploads/"))
    refused(written(tmp_path / "a.tar", [*members, first]), tmp_path, "more than once")


def test_a_member_larger_than_the_manifest_says_is_refused(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    members = members_of(archives["open"])
    name = upload_names(members)[0]
    grown = replace_member(members, name, b"x" * 10_000_000)
    refused(written(tmp_path / "a.tar", grown), tmp_path, "bytes, the manifest says")


def test_a_header_claiming_a_terabyte_is_refused_without_reading_it(tmp_path: Path) -> None:
    info = _member("database/assure.db")
    info.size = 2**40
    bomb = tmp_path / "bomb.tar"
    bomb.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096)
    refused(bomb, tmp_path, "runs past the end of the file")


def test_a_pax_size_bomb_and_an_oversized_pax_header_are_refused(tmp_path: Path) -> None:
    info = _member("database/assure.db")
    info.pax_headers = {"size": str(10**15)}
    bomb = tmp_path / "pax.tar"
    bomb.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096)
    refused(bomb, tmp_path, "runs past the end of the file")
    info.pax_headers = {"comment": "x" * 200_000}
    huge = tmp_path / "huge-pax.tar"
    huge.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096)
    refused(huge, tmp_path, "a pax header of")


def test_a_manifest_that_lies_about_a_hash_is_caught_and_everything_written_removed(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    """Without sealed keys nothing authenticates the manifest, so the lie is only found while
    writing; by then uploads are on disk, and they must all be gone again."""
    members = members_of(archives["open"])
    last = upload_names(members)[-1]
    original = data_of(members)[last]
    altered = replace_member(members, last, original.upper())  # same length, other bytes
    refused(written(tmp_path / "a.tar", altered), tmp_path, "does not have the SHA-256")


def test_a_damaged_database_member_is_refused(archives: dict[str, Path], tmp_path: Path) -> None:
    members = members_of(archives["open"])
    database = bytearray(data_of(members)["database/assure.db"])
    database[5000] ^= 0xFF
    damaged = replace_member(members, "database/assure.db", bytes(database))
    refused(written(tmp_path / "a.tar", damaged), tmp_path, "does not have the SHA-256")


def test_a_consistent_forgery_does_not_open_with_the_passphrase(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    """Member and manifest changed together: the hashes agree, but the sealed keys bind the
    manifest, so the archive is refused before anything is written."""
    members = members_of(archives["sealed"])
    name = upload_names(members)[0]
    forged_bytes = b"a forged policy\n"
    digest = hashlib.sha256(forged_bytes).hexdigest()

    def forge(document: dict) -> None:
        for member in document["members"]:
            if member["name"] == name:
                member.update(name=f"uploads/{digest}", size=len(forged_bytes), sha256=digest)
        document["uploads"] = [
            digest if d == name.removeprefix("uploads/") else d for d in document["uploads"]
        ]

    forged = [
        (
            _member(f"uploads/{digest}") if i.name == name else i,
            forged_bytes if i.name == name else d,
        )
        for i, d in edit_manifest(members, forge)
    ]
    refused(written(tmp_path / "a.tar", forged), tmp_path, "passphrase does not open", PASSPHRASE)


def test_a_wrong_passphrase_is_refused_and_leaves_nothing(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    refused(archives["sealed"], tmp_path, "passphrase does not open", "not the passphrase at all")


def test_sealed_keys_without_a_passphrase_are_refused_with_the_ways_forward(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    refused(archives["sealed"], tmp_path, "--passphrase-file or ASSURE_BACKUP_PASSPHRASE", None)


@pytest.mark.parametrize("keep", [0.3, 0.99, -1024, -600, -1])
def test_a_truncated_archive_is_refused(
    archives: dict[str, Path], tmp_path: Path, keep: float
) -> None:
    data = archives["open"].read_bytes()
    # Measured from where the content ends (the manifest's data, then an end-marker block): the
    # zero padding tar adds after it is no content, and cutting it loses nothing.
    with tarfile.open(archives["open"]) as tar:
        last = tar.getmembers()[-1]
    end = -(-(last.offset_data + last.size) // 512) * 512 + 512
    # A share of the content, or all but its last bytes (into the end marker, or the manifest).
    cut = data[: int(end * keep)] if keep > 0 else data[: end + int(keep)]
    truncated = tmp_path / "cut.tar"
    truncated.write_bytes(cut)
    refused(truncated, tmp_path, "truncated|no manifest|ends")


def test_a_member_the_manifest_does_not_list_is_refused(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    extra = b"smuggled\n"
    members = [
        *members_of(archives["open"]),
        (_member(f"uploads/{hashlib.sha256(extra).hexdigest()}"), extra),
    ]
    refused(written(tmp_path / "a.tar", members), tmp_path, "does not list")


def test_a_member_the_manifest_lists_but_the_archive_lacks_is_refused(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    members = members_of(archives["open"])
    name = upload_names(members)[0]
    refused(
        written(tmp_path / "a.tar", [m for m in members if m[0].name != name]), tmp_path, "lacks"
    )


def test_a_manifest_asking_for_a_huge_key_derivation_is_refused(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    def greedy(document: dict) -> None:
        document["sealed"]["kdf"]["memory_cost_kib"] = 64 * 1024 * 1024

    members = edit_manifest(members_of(archives["sealed"]), greedy)
    refused(written(tmp_path / "a.tar", members), tmp_path, "memory_cost_kib")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "ends before"),
        (b"not a tar at all" * 64, "checksum|damaged"),
        (bytes(1024), "no manifest"),
    ],
)
def test_files_that_are_not_backups_are_refused(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "not-a-backup.tar"
    path.write_bytes(content)
    refused(path, tmp_path, match)


def test_another_format_is_refused_by_name(archives: dict[str, Path], tmp_path: Path) -> None:
    def future(document: dict) -> None:
        document["format"] = "policetech-assure/backup/v9"

    members = edit_manifest(members_of(archives["open"]), future)
    refused(written(tmp_path / "a.tar", members), tmp_path, "not format")


def test_a_refused_archive_leaves_an_existing_empty_folder_empty(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    members = members_of(archives["open"])
    last = upload_names(members)[-1]
    altered = replace_member(members, last, bytes(len(data_of(members)[last])))
    target = tmp_path / "empty"
    target.mkdir(mode=0o700)
    with pytest.raises(BackupError, match="does not have the SHA-256"):
        restore_backup(
            settings_for(target),
            written(tmp_path / "a.tar", altered),
            None,
            skip_keys=False,
            accept_unauthenticated=True,
        )
    assert list(target.iterdir()) == []


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "data"
    target.mkdir(mode=0o700)
    (target / "notes.txt").write_text("mine\n")
    with pytest.raises(BackupError, match=r"is not empty \(notes.txt\)"):
        restore_backup(settings_for(target), archives["sealed"], PASSPHRASE, skip_keys=False)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine\n"
