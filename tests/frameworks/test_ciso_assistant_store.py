"""Storing a CISO Assistant library's catalogue: once per id and version, audited, refused when
the same id comes with other content, and one row however many import it at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.catalogue import UpstreamCatalogue
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.ciso_assistant.export import export_crosswalk, library_yaml
from frameworks.library import load_library
from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.catalogue_store import CatalogueImport, import_ciso_file
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, ImportedCatalogue

REAL = (
    Path(__file__).resolve().parents[1] / "data" / "ciso_assistant" / "nist-ssdf-1.1-excerpt.yaml"
)
TESTER = Actor(label="tester")
WRITERS = 20


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_library_is_stored_once_and_audited(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        first = import_ciso_file(session, TESTER, REAL)
    with transaction(sessions) as session:
        again = import_ciso_file(session, TESTER, REAL)
    assert (first.already_present, again.already_present) == (False, True)
    assert first.record_id == again.record_id
    with sessions() as session:
        stored = session.scalar(select(ImportedCatalogue))
        assert stored is not None
        assert (stored.catalogue_id, stored.version, stored.control_count) == (
            "nist-ssdf-1.1-imported",
            "1",
            4,
        )
        assert UpstreamCatalogue.model_validate(stored.content) == first.catalogue
        event = session.scalar(select(AuditEvent))
        assert event is not None
        assert event.action == "catalogue.imported"
        assert event.data["catalogue_id"] == "nist-ssdf-1.1-imported"
        assert event.data["controls"] == 4
    assert _count(sessions, AuditEvent) == 1


def test_other_content_under_the_same_id_is_refused_and_changes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(sessions) as session:
        import_ciso_file(session, TESTER, REAL)
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        REAL.read_text(encoding="utf-8").replace("Prepare the Organization", "Tampered"),
        encoding="utf-8",
    )
    with (
        pytest.raises(ValidationFailed, match="already imported from different content"),
        transaction(sessions) as session,
    ):
        import_ciso_file(session, TESTER, changed)
    with sessions() as session:
        assert session.scalars(select(ImportedCatalogue.title)).all() == [
            "Secure Software Development Framework (SSDF)"
        ]
    assert _count(sessions, AuditEvent) == 1
    with transaction(sessions) as session:
        other = import_ciso_file(session, TESTER, changed, "ssdf-tampered")
    assert other.catalogue.groups[0].title == "Tampered"
    assert _count(sessions, ImportedCatalogue) == 2


def test_a_mapping_library_is_not_stored(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    library = load_library()
    key = sorted(library.crosswalks)[0]
    path = tmp_path / "mapping.yaml"
    path.write_text(library_yaml(export_crosswalk(library.crosswalks[key], library)))
    with (
        pytest.raises(CisoLibraryError, match="is a mapping library"),
        transaction(sessions) as session,
    ):
        import_ciso_file(session, TESTER, path)
    assert _count(sessions, ImportedCatalogue) == 0
    assert _count(sessions, AuditEvent) == 0


def test_twenty_concurrent_imports_of_one_file_store_one_row(
    sessions: sessionmaker[Session],
) -> None:
    start = threading.Barrier(WRITERS)

    def import_once(_: int) -> CatalogueImport:
        start.wait()
        with transaction(sessions) as session:
            return import_ciso_file(session, TESTER, REAL)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(import_once, range(WRITERS)))
    assert sorted(r.already_present for r in results) == [False] + [True] * (WRITERS - 1)
    assert len({r.record_id for r in results}) == 1
    assert _count(sessions, ImportedCatalogue) == 1
    assert _count(sessions, AuditEvent) == 1
