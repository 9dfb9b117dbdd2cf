"""Key files made by processes starting together: one file wins, none is read half-written."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel.files import create_once, replace_whole
from pq_crypto.attestation import load_or_create_keys

STARTS = 20
ROOT = Path(__file__).resolve().parents[2]
# Each child waits for the go file, so all of them reach the create at about the same moment.
CHILD = """
import os, sys, time
from pathlib import Path
go, task, target = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
if task == "keys":
    from pq_crypto.attestation import load_or_create_keys
    print(load_or_create_keys(target).fingerprint)
else:
    from kernel.files import create_once
    print(create_once(target, lambda: os.urandom(4096)))
"""


def _together(tmp_path: Path, task: str, target: Path) -> list[str]:
    """What STARTS processes print, each doing `task` on `target` at once (no pool: a child that
    cannot start fails the test instead of being replaced forever)."""
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go), task, str(target)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTS)
    ]
    time.sleep(0.5)
    go.touch()
    said = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        said.append(out.strip())
    return said


def test_processes_starting_together_share_one_set_of_attestation_keys(tmp_path: Path) -> None:
    fingerprints = _together(tmp_path, "keys", tmp_path / "keys")
    assert len(set(fingerprints)) == 1
    assert load_or_create_keys(tmp_path / "keys").fingerprint == fingerprints[0]
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["attestation-keys.json"]


def test_exactly_one_concurrent_creator_wins_and_its_bytes_stay(tmp_path: Path) -> None:
    target = tmp_path / "secret.key"
    created = _together(tmp_path, "create", target)
    assert created.count("True") == 1
    assert created.count("False") == STARTS - 1
    assert len(target.read_bytes()) == 4096
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "secret.key"]  # nothing staged


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
