"""The data folder is the platform's alone: created 0700 with files 0600 by every `assure`
process, and a folder other users could write to is refused with the fix to apply."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.cli import assure


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    return env | {"ASSURE_DATA_DIR": str(folder)}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_folder_and_its_database_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    result = assure("db", "upgrade", env=_env(folder))
    assert result.returncode == 0, result.stderr
    assert _mode(folder) == 0o700
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert written
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}


def test_a_data_folder_others_can_write_to_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    result = assure("db", "upgrade", env=_env(folder))
    assert result.returncode != 0
    assert f"chmod 700 {folder}" in result.stderr
    assert not (folder / "assure.db").exists()
