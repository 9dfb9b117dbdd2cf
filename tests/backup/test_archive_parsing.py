"""Hostile headers and manifests are refused with a clear error, never a traceback or an
operating-system error: header numbers that are octal only to a lax parser, pax lengths and
sizes that are not plain decimals, a manifest nested to exhaust the stack or larger than the
archive's members justify, oversized sealed secrets, and a key derivation asking too much."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from posture.backup.manifest import FORMAT, BackupError
from posture.backup.restore import restore_backup
from posture.backup.take import take_backup
from tests.backup.crafting import edit_manifest, members_of, replace_member, written
from tests.backup.estate import PASSPHRASE, seed_estate, settings_for

END = b"\0" * 1024


def _refused(archive: Path, tmp_path: Path, match: str, passphrase: str | None = None) -> None:
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=match):
        restore_backup(
            settings_for(target), archive, passphrase, skip_keys=False, accept_unauthenticated=True
        )
    assert not target.exists()


def _header(name: str, kind: bytes = tarfile.REGTYPE, size_field: bytes | None = None) -> bytes:
    """A ustar header whose size field holds `size_field` verbatim, with a valid checksum."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o600
    header = bytearray(info.tobuf(tarfile.USTAR_FORMAT)[:512])
    if size_field is not None:
        header[124:136] = size_field.ljust(12, b"\0")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _pax(records: bytes, size_field: bytes | None = None) -> bytes:
    field = size_field if size_field is not None else b"%011o" % len(records)
    data = records + b"\0" * (-len(records) % 512)
    return _header("pax", tarfile.XHDTYPE, field) + data


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parsing")
    seed_estate(folder / "data")
    settings = settings_for(folder / "data")
    return {
        "sealed": take_backup(settings, folder / "sealed.tar", PASSPHRASE, include_keys=True).path,
        "open": take_backup(settings, folder / "open.tar", None, include_keys=False).path,
    }


@pytest.mark.parametrize("field", [b"-1", b"+1", b"0o7", b"1_0", b"8", b"0x10"])
@pytest.mark.parametrize("kind", [tarfile.REGTYPE, tarfile.XHDTYPE])
def test_a_header_size_that_is_not_plain_octal_is_refused(
    tmp_path: Path, field: bytes, kind: bytes
) -> None:
    path = tmp_path / "odd.tar"
    path.write_bytes(_header("manifest.json", kind, field) + b"\0" * 512 + END)
    _refused(path, tmp_path, "a header number is not octal")


@pytest.mark.parametrize("size", [b"-1", b"+5", b" 5", b"1_0", b"0x5", b"\xd9\xa3"])
def test_a_pax_size_that_is_not_a_plain_decimal_is_refused(tmp_path: Path, size: bytes) -> None:
    record = b"size=" + size + b"\n"
    record = b"%d %s" % (len(record) + 3, record)
    path = tmp_path / "odd.tar"
    path.write_bytes(_pax(record) + _header("manifest.json") + END)
    _refused(path, tmp_path, "a pax size is not a decimal number|a pax record")


@pytest.mark.parametrize("length", [b"-9", b"+9", b"0x9", b"9_0"])
def test_a_pax_record_length_that_is_not_a_plain_decimal_is_refused(
    tmp_path: Path, length: bytes
) -> None:
    path = tmp_path / "odd.tar"
    path.write_bytes(_pax(length + b" path=x\n") + _header("manifest.json") + END)
    _refused(path, tmp_path, "a pax record has no length")


def _with_manifest(path: Path, manifest: bytes) -> Path:
    info = tarfile.TarInfo("manifest.json")
    info.mode = 0o600
    return written(path, [(info, manifest)])


def test_a_manifest_nested_to_exhaust_the_stack_is_refused(tmp_path: Path) -> None:
    depth = 200_000
    bomb = b'{"format": "%s", "uploads": %s%s}' % (FORMAT.encode(), b"[" * depth, b"]" * depth)
    _refused(_with_manifest(tmp_path / "deep.tar", bomb), tmp_path, "nested too deeply")


def test_a_manifest_larger_than_the_members_justify_is_refused(tmp_path: Path) -> None:
    padding = " " * (3 * 1024 * 1024)
    huge = json.dumps({"format": FORMAT, "software_version": padding}).encode()
    _refused(
        _with_manifest(tmp_path / "huge.tar", huge),
        tmp_path,
        r"manifest is \d+ bytes, more than the \d+ an archive of 1 members may carry",
    )


def test_sealed_secrets_larger_than_keys_ever_are_refused_before_reading(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    """The sealed member's own entry is outside what the passphrase authenticates, so the
    attacker may resize it freely: its size alone must refuse it."""
    bloated = b"\0" * (5 * 1024 * 1024)
    digest = hashlib.sha256(bloated).hexdigest()

    def grow(document: dict) -> None:
        for member in document["members"]:
            if member["name"] == "secrets.sealed":
                member.update(size=len(bloated), sha256=digest)

    members = replace_member(
        edit_manifest(members_of(archives["sealed"]), grow), "secrets.sealed", bloated
    )
    _refused(
        written(tmp_path / "a.tar", members),
        tmp_path,
        r"'secrets.sealed' is 5242880 bytes, more than 4194304",
        PASSPHRASE,
    )


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("memory_cost_kib", 512 * 1024), ("time_cost", 9), ("parallelism", 9)],
)
def test_a_key_derivation_over_256_mib_8_passes_or_8_lanes_is_refused(
    archives: dict[str, Path], tmp_path: Path, parameter: str, value: int
) -> None:
    def greedy(document: dict) -> None:
        document["sealed"]["kdf"][parameter] = value

    members = edit_manifest(members_of(archives["sealed"]), greedy)
    _refused(written(tmp_path / "a.tar", members), tmp_path, parameter, PASSPHRASE)
