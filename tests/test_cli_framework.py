"""`assure framework`: validate, show, coverage, and the OSCAL round trip through the database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from frameworks.loader import DATA_ROOT
from tests.cli import assure

NIST_LOW = (
    Path(__file__).resolve().parent
    / "data/oscal/NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
)


def test_validate_passes_on_the_shipped_data(sqlite_env: dict[str, str]) -> None:
    result = assure("framework", "validate", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    # PTSbD 1.0 (37), CAF 4.0 (41), Cyber Essentials 3.2 (22) and 3.3 (23).
    assert "4 framework version(s), 123 outcomes" in result.stdout
    assert "8 crosswalks" in result.stdout


def test_validate_fails_on_broken_data_and_lists_the_problem(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    broken = tmp_path / "data-copy"
    shutil.copytree(DATA_ROOT, broken)
    profiles = broken / "ptsbd" / "profiles-1.0.yaml"
    profiles.write_text(profiles.read_text().replace("A1.a: achieved", "Z1.z: achieved", 1))
    result = assure("framework", "validate", "--data-dir", str(broken), env=sqlite_env)
    assert result.returncode == 1
    assert "profiles-1.0.yaml" in result.stderr
    assert "unknown outcome Z1.z" in result.stderr


def test_coverage_against_caf_accounts_for_all_41_outcomes(sqlite_env: dict[str, str]) -> None:
    result = assure("framework", "coverage", "--against", "ncsc-caf-4.0", "--json", env=sqlite_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["elements"]) == 41
    assert sum(report["summary"].values()) == 41
    assert "not in crosswalk" not in report["summary"]


def test_show_an_outcome_and_refuse_an_unknown_id(sqlite_env: dict[str, str]) -> None:
    shown = assure("framework", "show", "C3.b", "--json", env=sqlite_env)
    assert json.loads(shown.stdout)["title"] == "Post-quantum key exchange"
    missing = assure("framework", "show", "Z9.z", env=sqlite_env)
    assert missing.returncode == 2
    assert "no framework, outcome or catalogue" in missing.stderr


def test_export_then_import_round_trip_and_nist_import(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    out = tmp_path / "ptsbd-oscal.json"
    exported = assure("framework", "export-oscal", str(out), env=sqlite_env)
    assert exported.returncode == 0, exported.stderr
    imported = assure("framework", "import-oscal", str(out), "--json", env=sqlite_env)
    assert json.loads(imported.stdout)["controls"] == 37
    nist = assure("framework", "import-oscal", str(NIST_LOW), "--json", env=sqlite_env)
    payload = json.loads(nist.stdout)
    assert (payload["controls"], payload["top_level_controls"]) == (149, 131)


def test_import_of_a_malformed_catalog_is_one_line_and_exit_2(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"catalog": {"uuid": "x"}}')
    result = assure("framework", "import-oscal", str(bad), env=sqlite_env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a valid OSCAL catalog" in result.stderr
