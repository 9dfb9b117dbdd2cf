"""OSCAL exchange: PTSbD exports to a valid catalog that re-imports to the same framework, real
NIST catalogs import with the right control counts, and malformed ones are refused cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.library import shipped_library
from frameworks.oscal import importer
from frameworks.oscal.export import export_oscal
from frameworks.oscal.importer import OscalImportError, read_oscal_catalog
from frameworks.oscal.validation import oscal_schema_errors
from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.catalogue_store import import_oscal_file
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, ImportedCatalogue

DATA = Path(__file__).resolve().parents[1] / "data" / "oscal"
NIST_LOW = DATA / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
TESTER = Actor(label="tester")


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    path = tmp_path / "ptsbd.json"
    path.write_text(json.dumps(export_oscal(shipped_library().latest("ptsbd"))))
    return path


def test_the_export_validates_against_the_nist_schema(exported: Path) -> None:
    document = json.loads(exported.read_text())
    assert oscal_schema_errors(document) == []
    groups = document["catalog"]["groups"]
    assert [g["id"] for g in groups] == ["A", "B", "C", "D", "E"]


def test_the_export_reimports_to_the_same_framework(exported: Path) -> None:
    imported = read_oscal_catalog(exported)
    assert imported.framework == shipped_library().latest("ptsbd").framework
    assert imported.control_count == 37


def test_the_export_is_reproducible() -> None:
    loaded = shipped_library().latest("ptsbd")
    assert export_oscal(loaded) == export_oscal(loaded)


def test_the_nist_low_baseline_imports_with_every_control() -> None:
    imported = read_oscal_catalog(NIST_LOW)
    assert imported.control_count == 149
    assert imported.top_level_control_count == 131
    assert len(imported.catalogue.groups) == 18
    assert imported.framework is None
    ids = imported.catalogue.item_ids()
    assert "ac-1" in ids
    assert "ac-2" in ids
    assert imported.catalogue.publisher != ""


def test_the_basic_example_catalog_imports() -> None:
    imported = read_oscal_catalog(DATA / "basic-catalog.json")
    assert imported.control_count == imported.top_level_control_count > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON at line 1"),
        ('{"profile": {}}', "no top-level 'catalog'"),
        ("[1, 2]", "no top-level 'catalog'"),
        ('{"catalog": {"uuid": "nope"}}', "not a valid OSCAL catalog"),
    ],
)
def test_malformed_catalogs_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(OscalImportError, match=message):
        read_oscal_catalog(path)


def test_a_control_without_an_id_is_refused_with_its_location(tmp_path: Path) -> None:
    document = json.loads(NIST_LOW.read_text())
    del document["catalog"]["groups"][0]["controls"][1]["id"]
    path = tmp_path / "no-id.json"
    path.write_text(json.dumps(document))
    with pytest.raises(OscalImportError, match="/catalog/groups/0/controls/1"):
        read_oscal_catalog(path)


def test_an_oversized_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_CATALOG_BYTES", 1000)
    with pytest.raises(OscalImportError, match="over the 1000 byte limit"):
        read_oscal_catalog(NIST_LOW)


def test_import_stores_once_and_audits(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        first = import_oscal_file(session, TESTER, NIST_LOW, "nist-low")
    with transaction(sessions) as session:
        again = import_oscal_file(session, TESTER, NIST_LOW, "nist-low")
    assert not first.already_present
    assert again.already_present
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedCatalogue)) == 1
        stored = session.scalar(select(ImportedCatalogue))
        assert stored is not None
        assert stored.control_count == 149
        assert (
            session.scalar(select(AuditEvent.action).order_by(AuditEvent.id))
            == "catalogue.imported"
        )


def test_different_content_under_the_same_id_changes_nothing(
    sessions: sessionmaker[Session], exported: Path
) -> None:
    with transaction(sessions) as session:
        import_oscal_file(session, TESTER, exported, "shared-id")
    changed = json.loads(exported.read_text())
    changed["catalog"]["metadata"]["title"] = "Tampered title"
    other = exported.with_name("other.json")
    other.write_text(json.dumps(changed))
    with (
        pytest.raises(ValidationFailed, match="already imported"),
        transaction(sessions) as session,
    ):
        import_oscal_file(session, TESTER, other, "shared-id")
    with sessions() as session:
        titles = session.scalars(select(ImportedCatalogue.title)).all()
        assert titles == ["PoliceTech Secure by Design"]
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
