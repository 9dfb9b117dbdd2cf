"""A check is one module: the toy check (tests/checks/toy_check.py), once registered, has its
command in `assure check`, its kind in the partner API's document, its choice in the app's
check picker, and runs in the sandboxed worker and is stored as a run, with no other edit. When
it is unregistered, it is gone from all of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from assure_cli.check import build_app
from checks import catalogue
from checks.catalogue import CheckKind, CheckSpec, InputKind
from checks.findings import CATALOGUE_FILE, FindingCatalogue
from kernel.settings import Settings
from partner_api.app import create_app
from posture.check_requests import CheckRequest, file_fields
from posture.jobs.checks import job_for
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models import CheckRun, Finding
from posture.storage.models.enums import Role, RunStatus
from tests.checks import toy_check
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
NOTES = b"buy milk\nDRAFT: write the report\n"


@pytest.fixture
def toy() -> Iterator[CheckSpec]:
    """The toy check is in the catalogue for this test only."""
    with catalogue.registered(toy_check.SPEC) as spec:
        yield spec


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("ASSURE_DATA_DIR", str(folder))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return folder


def test_the_shipped_kinds_are_the_check_kind_enum_in_order() -> None:
    assert catalogue.kinds() == tuple(CheckKind)
    assert catalogue.kinds(InputKind.ENDPOINT) == ("tls", "ssh")
    assert catalogue.post_quantum_kinds() == ("tls", "ssh", "cert", "jwks", "cbom")


def test_the_cli_has_a_command_for_a_registered_check(
    toy: CheckSpec, data_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    listing = runner.invoke(build_app(), ["--help"], env={"COLUMNS": "120"})
    assert "toy" in listing.output
    assert toy.summary in listing.output
    usage = runner.invoke(build_app(), ["toy", "--help"], env={"COLUMNS": "120"})
    assert toy.input_help in usage.output
    # A file check that writes no CBOM: neither --timeout nor --cbom.
    assert "--fail-on" in usage.output
    assert "--sarif" in usage.output
    assert "--junit" in usage.output
    assert "--cbom" not in usage.output
    assert "--timeout" not in usage.output
    notes = tmp_path / "notes.txt"
    notes.write_bytes(NOTES)
    result = runner.invoke(build_app(), ["toy", str(notes), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["kind"], report["target"], report["score"]) == ("toy", "notes.txt", 0.0)
    assert [(f["code"], f["evidence"]) for f in report["findings"]] == [("TOY-001", {"lines": [2]})]
    sarif, junit = tmp_path / "toy.sarif", tmp_path / "toy.xml"
    options = ["--sarif", str(sarif), "--junit", str(junit)]
    assert runner.invoke(build_app(), ["toy", str(notes), *options]).exit_code == 0
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("TOY-001", "note")]
    assert "toy.TOY-001" in junit.read_text()


def test_the_partner_api_document_offers_a_registered_file_check(
    toy: CheckSpec, data_dir: Path
) -> None:
    from kernel.settings import load_settings
    from posture.storage import migrate
    from posture.storage.engine import build_engine

    settings = load_settings()
    migrate.upgrade(build_engine(settings))
    schemas = create_app(settings).openapi()["components"]["schemas"]
    assert schemas["ArtefactCheckUpload"]["properties"]["kind"]["enum"] == [
        "cert",
        "jwks",
        "cbom",
        "api",
        "toy",
    ]
    assert schemas["EndpointCheckIn"]["properties"]["kind"]["enum"] == ["tls", "ssh"]


def _checks_page() -> None:
    from ui.pages.checks import checks_page

    checks_page()


def test_the_app_offers_a_registered_check(
    toy: CheckSpec, world_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _, settings = world_db
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    app = AppTest.from_function(_checks_page, default_timeout=30)
    app.session_state["assure_principal"] = world.principal(Role.SUPPLIER_MEMBER)
    app = app.run()
    picker = next(box for box in app.selectbox if box.label == "Check")
    assert toy.label in picker.options
    app = picker.set_value("toy").run()
    # It reads a file: the page asks for one, not for an endpoint.
    assert not [box for box in app.text_input if box.label.startswith("Endpoint (")]
    assert app.get("file_uploader")


def test_a_registered_check_runs_in_the_sandboxed_worker_and_is_stored(
    toy: CheckSpec, world_db: Db
) -> None:
    world, sessions, settings = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    request = CheckRequest(kind="toy", **file_fields("notes.txt", NOTES))
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    job_id = submit_check(sessions, queue, supplier, product_id, request, NOTES)
    with sessions() as session:
        job = job_for(session, supplier, job_id)
        assert job.status == RunStatus.SUCCEEDED, job.error
        run = session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).one()
        assert (run.kind, run.target, run.score) == ("toy", "notes.txt", 0.0)
        codes = session.scalars(select(Finding.code).where(Finding.check_run_id == run.id))
        assert codes.all() == ["TOY-001"]


def test_a_check_that_crashes_leaves_a_not_assessable_run_that_replaces_older_evidence(
    toy: CheckSpec, world_db: Db
) -> None:
    world, sessions, settings = world_db
    supplier = world.principal(Role.SUPPLIER_MEMBER)
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    crash = b"notes\nCRASH\n"
    request = CheckRequest(kind="toy", **file_fields("notes.txt", crash))
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    job_id = submit_check(sessions, queue, supplier, product_id, request, crash)
    with sessions() as session:
        run = session.scalars(select(CheckRun).where(CheckRun.job_id == job_id)).one()
        assert (run.status, run.score) == (RunStatus.FAILED, None)
        codes = session.scalars(select(Finding.code).where(Finding.check_run_id == run.id))
        assert codes.all() == ["CHECK-001"]
        # The user is told what happened, never the traceback.
        assert "tripped" not in str(run.result)


def test_an_unregistered_check_is_gone_and_refused_everywhere(world_db: Db) -> None:
    with catalogue.registered(toy_check.SPEC):
        pass
    assert "toy" not in catalogue.kinds()
    assert "toy" not in CliRunner().invoke(build_app(), ["--help"]).output
    with pytest.raises(ValidationError, match="not a kind of check"):
        CheckRequest(kind="toy", **file_fields("notes.txt", NOTES))
    world, sessions, _ = world_db
    orphan = CheckRun(
        organisation_id=world.orgs["s1"].organisation_id, kind="toy", target="x", status="failed"
    )
    with sessions() as session:
        session.add(orphan)
        with pytest.raises(StatementError, match="no check of kind 'toy'"):
            session.flush()


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already in the catalogue"):
        catalogue.register(catalogue.spec_for("tls"))


def test_findings_yaml_names_only_kinds_in_the_catalogue() -> None:
    data: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text("utf-8"))
    data["findings"]["CERT-001"]["raised_by"] = ["tls", "cert", "smtp"]
    with pytest.raises(ValidationError, match="not a kind of check"):
        FindingCatalogue.model_validate(data)
