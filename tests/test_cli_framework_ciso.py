"""`assure framework export-ciso` and `import-ciso`: libraries written for CISO Assistant, read
back through the database, and a refused file reported in one line with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from assure_cli.framework_ciso import register
from frameworks.ciso_assistant.importer import read_library
from frameworks.library import load_library
from posture.storage.models import ImportedCatalogue
from tests.cli import assure

REAL = Path(__file__).resolve().parent / "data" / "ciso_assistant" / "nist-ssdf-1.1-excerpt.yaml"


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def database(sqlite_env: dict[str, str]) -> dict[str, str]:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    return sqlite_env


def _rows(env: dict[str, str]) -> int:
    engine = create_engine(f"sqlite:///{env['ASSURE_DATA_DIR']}/assure.db")
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ImportedCatalogue)).scalar()
    engine.dispose()
    return count or 0


def test_export_writes_the_framework_and_its_crosswalks(cli: typer.Typer, tmp_path: Path) -> None:
    library = load_library()
    targets = sorted(t for (f, _v, t) in library.crosswalks if f == "ptsbd")[:2]
    out = tmp_path / "libraries"
    args = ["export-ciso", str(out), "--json"]
    for target in targets:
        args += ["--crosswalk", target]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    files = [Path(p) for p in json.loads(result.stdout)["files"]]
    assert [p.name for p in files] == ["ptsbd-1.0.yaml"] + [f"ptsbd-1.0__{t}.yaml" for t in targets]
    assert read_library(files[0]).framework == library.latest("ptsbd").framework
    for path, target in zip(files[1:], targets, strict=True):
        assert read_library(path).crosswalks == [library.crosswalks[("ptsbd", "1.0", target)]]


def test_export_refuses_an_unknown_crosswalk(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export-ciso", str(tmp_path / "x"), "--crosswalk", "nope"])
    assert result.exit_code == 2
    assert "no crosswalk from ptsbd-1.0 to 'nope'" in result.stderr
    assert not (tmp_path / "x").exists()


def test_import_stores_a_real_library_once(cli: typer.Typer, database: dict[str, str]) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["import-ciso", str(REAL), "--json"], env=database)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    # The id the library derives is a shipped catalogue's: stored beside it, never over it.
    assert (payload["id"], payload["controls"], payload["already_present"]) == (
        "nist-ssdf-1.1-imported",
        4,
        False,
    )
    again = runner.invoke(cli, ["import-ciso", str(REAL)], env=database)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("already imported nist-ssdf-1.1-imported 1:")
    chosen = runner.invoke(cli, ["import-ciso", str(REAL), "--id", "nist-ssdf-1.1"], env=database)
    assert chosen.exit_code != 0
    assert "nist-ssdf-1.1 is shipped with this release" in chosen.output
    assert _rows(database) == 1


def test_our_export_imports_under_its_framework_version(
    cli: typer.Typer, database: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ptsbd.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["export-ciso", str(out)]).exit_code == 0
    result = runner.invoke(cli, ["import-ciso", str(out), "--json"], env=database)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["id"], payload["version"]) == ("ptsbd-1.0-imported", "1.0")
    assert payload["controls"] == len(load_library().latest("ptsbd").framework.outcomes())


def test_a_refused_library_is_one_line_exit_2_and_stores_nothing(
    cli: typer.Typer, database: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(REAL.read_text(encoding="utf-8").replace("  framework:", "  frameworkz:", 1))
    result = CliRunner().invoke(cli, ["import-ciso", str(bad)], env=database)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: bad.yaml at objects.frameworkz: unknown object kind 'frameworkz'; a CISO "
        "Assistant library holds framework, frameworks, requirement_mapping_set, "
        "requirement_mapping_sets, threats, reference_controls, risk_matrix, risk_matrices, "
        "metric_definitions, quick_forms, ttp_catalogs, tactics, techniques, preset, workflows"
    ]
    assert _rows(database) == 0
