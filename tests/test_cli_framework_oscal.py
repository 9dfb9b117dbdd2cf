"""assure framework export-results and import-profile: an accepted assessment is written as valid
OSCAL results, anything else is refused in one line with no file written; a profile is resolved
against an imported catalog and stored once, a broken one refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from assure_cli.framework_oscal import register
from frameworks.oscal.validation import oscal_schema_errors
from kernel.settings import Settings
from posture.audit import Actor
from posture.catalogue_store import import_oscal_file
from posture.storage.engine import transaction
from posture.storage.models import ImportedProfile
from tests.frameworks.test_oscal_profile import NIST_LOW, by_resource
from tests.frameworks.test_oscal_results import build_accepted, submitted_assessment


@pytest.fixture
def cli(backend_settings: Settings) -> tuple[typer.Typer, dict[str, str]]:
    app = typer.Typer()
    register(app)
    env = {
        "ASSURE_DATA_DIR": str(backend_settings.data_dir),
        "ASSURE_DATABASE_URL": backend_settings.effective_database_url,
    }
    return app, env


def _run(cli: tuple[typer.Typer, dict[str, str]], *args: str) -> Result:
    app, env = cli
    return CliRunner().invoke(app, list(args), env=env)


def test_export_results_writes_a_valid_document(
    sessions: sessionmaker[Session], cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path
) -> None:
    accepted = build_accepted(sessions)
    out = tmp_path / "results.json"
    result = _run(cli, "export-results", str(accepted.assessment_id), str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    document = json.loads(out.read_text("utf-8"))
    assert oscal_schema_errors(document) == []
    findings = document["assessment-results"]["results"][0]["findings"]
    assert summary["outcomes"] == len(findings)
    assert summary["satisfied"] == 2  # A1.a achieved, A2.a not applicable


def test_export_results_refuses_an_assessment_not_yet_accepted_and_writes_nothing(
    sessions: sessionmaker[Session], cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path
) -> None:
    with transaction(sessions) as session:
        _, assessment_id = submitted_assessment(session)
    out = tmp_path / "results.json"
    result = _run(cli, "export-results", str(assessment_id), str(out))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: assessment {assessment_id} is submitted; only an assessment an assessor has "
        "accepted in full is exported as OSCAL results"
    ]
    assert not out.exists()
    missing = _run(cli, "export-results", "987654", str(out))
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "error: assessment not found"


def test_import_profile_stores_once_and_reports_the_selection(
    sessions: sessionmaker[Session], cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path
) -> None:
    with transaction(sessions) as session:
        import_oscal_file(session, Actor(label="tester"), NIST_LOW, "nist-low")
    path = tmp_path / "profile.json"
    selection = {"include-controls": [{"with-ids": ["sc-7", "ac-1"]}]}
    path.write_text(json.dumps(by_resource(**selection)))
    first = _run(cli, "import-profile", str(path), "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["catalogue_id"], report["control_ids"]) == ("nist-low", ["ac-1", "sc-7"])
    assert report["already_present"] is False
    again = _run(cli, "import-profile", str(path), "--catalogue", "nist-low")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("already imported profile")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedProfile)) == 1


def test_import_profile_refuses_a_broken_file_in_one_line(
    sessions: sessionmaker[Session], cli: tuple[typer.Typer, dict[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"profile": ' + b"[" * 5_000 + b"]" * 5_000 + b"}")
    result = _run(cli, "import-profile", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: refused: nested deeper than 64 levels"
    ]
    unknown = _run(cli, "import-profile", str(NIST_LOW), "--catalogue", "nist-low")
    assert unknown.exit_code == 2
    assert "not an OSCAL profile" in unknown.stderr
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedProfile)) == 0
