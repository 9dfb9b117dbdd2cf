"""assure risk export: a force's register written as CSV, XLSX or a valid OSCAL POA&M; a refusal
(no such organisation, an empty register for a POA&M, a bad day or format) is one line on stderr,
exit code 2, and no file."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from assure_cli.risk import app
from frameworks.oscal.poam import parse_poam
from frameworks.oscal.validation import oscal_schema_errors
from kernel.settings import Settings
from posture.risk.forms import read_form
from posture.risk.scenarios import ScenarioForm, raise_scenario
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from tests.cli import assure
from tests.identity.world import World

WorldDb = tuple[World, sessionmaker[Session], Settings]
FORMULA = '=HYPERLINK("https://evil.example","open")'


def _raise(sessions: sessionmaker[Session], world: World, title: str) -> int:
    data: dict[str, Any] = {
        "organisation_id": world.orgs["f1"].organisation_id,
        "subject_kind": "organisation",
        "title": title,
        "threat": "service-loss",
        "threat_text": "A ransomware group encrypts the dispatch servers.",
        "vulnerability_text": "Backups are kept online beside the servers.",
        "inherent_likelihood": "possible",
        "inherent_impact": "severe",
        "current_impact": "severe",
    }
    with transaction(sessions) as session:
        return raise_scenario(
            session,
            world.principal(Role.FORCE_ASSESSOR),
            read_form(ScenarioForm, data),
            date(2026, 12, 6),
        ).id


def _run(settings: Settings, *args: str) -> Result:
    env = {"ASSURE_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(app, ["export", *args], env=env)


def test_csv_export_writes_one_inert_row_per_scenario(world_db: WorldDb, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    made = [_raise(sessions, world, FORMULA), _raise(sessions, world, "Dispatch goes dark")]
    out = tmp_path / "register.csv"
    f1 = str(world.orgs["f1"].organisation_id)
    result = _run(settings, "--organisation", f1, "--format", "csv", "--output", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["format"] == "csv"
    assert summary["bytes"] == out.stat().st_size
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert [int(row["id"]) for row in rows] == made
    assert rows[0]["title"] == "'" + FORMULA


def test_xlsx_export_writes_a_workbook_with_text_cells(world_db: WorldDb, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    _raise(sessions, world, FORMULA)
    out = tmp_path / "register.xlsx"
    f1 = str(world.orgs["f1"].organisation_id)
    result = _run(settings, "--organisation", f1, "--format", "xlsx", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "risk register as xlsx" in result.stdout
    sheet = load_workbook(out).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("title") + 1)
    assert (cell.value, cell.data_type) == (FORMULA, "s")


def test_oscal_poam_export_is_valid_and_reads_back(world_db: WorldDb, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    _raise(sessions, world, "Dispatch goes dark")
    out = tmp_path / "poam.json"
    f1 = str(world.orgs["f1"].organisation_id)
    result = _run(settings, "--organisation", f1, "--format", "oscal-poam", "--output", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text("utf-8"))
    assert oscal_schema_errors(document) == []
    assert len(parse_poam(document).poam_items) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisation", "999999", "--format", "csv"], "not found"),
        (["--organisation", "ORG", "--format", "oscal-poam"], "no scenarios"),
        (["--organisation", "ORG", "--format", "csv", "--as-of", "yesterday"], "--as-of"),
        (["--organisation", "ORG", "--format", "pdf"], "pdf"),
        (["--organisation", "0", "--format", "csv"], "organisation"),
    ],
)
def test_a_refused_export_writes_nothing(
    world_db: WorldDb, tmp_path: Path, args: list[str], message: str
) -> None:
    world, _, settings = world_db
    out = tmp_path / "out.file"
    args = [a.replace("ORG", str(world.orgs["f1"].organisation_id)) for a in args]
    result = _run(settings, *args, "--output", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_the_command_is_registered_on_assure(world_db: WorldDb, tmp_path: Path) -> None:
    world, sessions, settings = world_db
    _raise(sessions, world, "Dispatch goes dark")
    out = tmp_path / "register.csv"
    env = {"ASSURE_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    result = assure(
        "risk",
        "export",
        "--organisation",
        str(world.orgs["f1"].organisation_id),
        "--format",
        "csv",
        "--output",
        str(out),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))) == 1
