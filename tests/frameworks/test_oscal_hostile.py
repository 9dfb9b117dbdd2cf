"""An OSCAL catalog nested past what the importer can walk is refused as an import error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frameworks.oscal.importer import OscalImportError, read_oscal_catalog
from tests.cli import assure

BASIC = Path(__file__).resolve().parents[1] / "data" / "oscal" / "basic-catalog.json"


def _nested_groups(levels: int) -> dict:
    group = {"id": f"g{levels}", "title": "Innermost", "controls": [{"id": "c1", "title": "C"}]}
    for level in range(levels - 1, 0, -1):
        group = {"id": f"g{level}", "title": f"Group {level}", "groups": [group]}
    catalog = json.loads(BASIC.read_text(encoding="utf-8"))
    catalog["catalog"]["groups"] = [group]
    catalog["catalog"].pop("controls", None)
    return catalog


def _write(tmp_path: Path, document: dict | bytes) -> Path:
    path = tmp_path / "catalog.json"
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    return path


def test_a_json_document_100k_levels_deep_is_refused_as_an_import_error(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"catalog": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(OscalImportError, match="refused: nested deeper than 64 levels"):
        read_oscal_catalog(path)


def test_300_nested_groups_are_refused_before_anything_recurses(tmp_path: Path) -> None:
    with pytest.raises(OscalImportError, match="refused: nested deeper than 64 levels"):
        read_oscal_catalog(_write(tmp_path, _nested_groups(300)))


def test_groups_nested_within_the_limit_still_import(tmp_path: Path) -> None:
    imported = read_oscal_catalog(_write(tmp_path, _nested_groups(20)))
    assert imported.control_count == 1


def test_a_catalog_with_a_100k_digit_number_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"catalog": {"uuid": ' + b"1" * 100_000 + b"}}")
    with pytest.raises(OscalImportError, match="refused: a number is longer than 100"):
        read_oscal_catalog(path)


@pytest.mark.slow
def test_the_cli_reports_nested_groups_in_one_line(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    path = _write(tmp_path, _nested_groups(300))
    result = assure("framework", "import-oscal", str(path), env=sqlite_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: refused: nested deeper than 64 levels"
    ]
