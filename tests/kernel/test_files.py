"""Key files made by processes starting together: one file wins, none is read half-written."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from kernel.files import create_once, replace_whole
from pq_crypto.attestation import load_or_create_keys

STARTS = 20


def _attestation_fingerprint(folder: str) -> str:
    return load_or_create_keys(Path(folder)).fingerprint


def _created(path: str) -> bool:
    return create_once(Path(path), lambda: os.urandom(4096))


@pytest.fixture
def spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


def test_processes_starting_together_share_one_set_of_attestation_keys(
    tmp_path: Path, spawn: multiprocessing.context.SpawnContext
) -> None:
    with spawn.Pool(8) as pool:
        fingerprints = pool.map(_attestation_fingerprint, [str(tmp_path / "keys")] * STARTS)
    assert len(set(fingerprints)) == 1
    assert load_or_create_keys(tmp_path / "keys").fingerprint == fingerprints[0]
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["attestation-keys.json"]


def test_exactly_one_concurrent_creator_wins_and_its_bytes_stay(
    tmp_path: Path, spawn: multiprocessing.context.SpawnContext
) -> None:
    target = tmp_path / "secret.key"
    with spawn.Pool(8) as pool:
        created = pool.map(_created, [str(target)] * STARTS)
    assert created.count(True) == 1
    assert len(target.read_bytes()) == 4096
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no staged leftovers


def test_an_existing_file_is_never_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_bytes(b"first")
    assert create_once(target, lambda: b"second") is False
    assert target.read_bytes() == b"first"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken() -> bytes:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        create_once(tmp_path / "key", broken)
    assert list(tmp_path.iterdir()) == []


def test_replace_whole_swaps_content_in_one_rename(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    replace_whole(target, b"a" * 10)
    replace_whole(target, b"b" * 20)
    assert target.read_bytes() == b"b" * 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob"]
