"""Store upstream catalogues imported from OSCAL or from CISO Assistant libraries, once per id and
version, with an audit event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.catalogue import UpstreamCatalogue
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.ciso_assistant.importer import read_library
from frameworks.ciso_assistant.read import library_bytes
from frameworks.library import shipped_library
from frameworks.oscal.importer import ImportedCatalog, read_oscal_catalog
from kernel.errors import ValidationFailed
from posture.audit import Actor, hold_append_lock, record
from posture.storage.models import ImportedCatalogue

OSCAL = "oscal"
CISO_ASSISTANT = "ciso-assistant"


@dataclass(frozen=True)
class CatalogueImport:
    record_id: int
    catalogue: UpstreamCatalogue
    control_count: int
    top_level_control_count: int
    already_present: bool


def _store(
    session: Session,
    actor: Actor,
    catalogue: UpstreamCatalogue,
    source_name: str,
    digest: str,
    control_count: int,
    file_format: str,
) -> tuple[int, bool]:
    """(row id, already present). Only called with a fully valid catalogue, whose id is not a
    shipped catalogue's (`unshadowed`)."""
    # Two imports of one catalogue at once would both find no row and the second would fail on
    # the unique (id, version). The audit append lock is taken anyway to record the event, and
    # taken first it makes the look-up and the insert one step for every importer.
    hold_append_lock(session)
    existing = session.scalar(
        select(ImportedCatalogue).where(
            ImportedCatalogue.catalogue_id == catalogue.catalogue_id,
            ImportedCatalogue.version == catalogue.version,
        )
    )
    if existing is not None:
        if existing.sha256 != digest:
            raise ValidationFailed(
                f"catalogue {catalogue.catalogue_id} {catalogue.version} was already imported "
                "from different content; import it under another --id"
            )
        return existing.id, True
    row = ImportedCatalogue(
        catalogue_id=catalogue.catalogue_id,
        version=catalogue.version,
        title=catalogue.title,
        publisher=catalogue.publisher,
        source_name=source_name[:255],
        sha256=digest,
        control_count=control_count,
        content=catalogue.model_dump(mode="json"),
        imported_by_user_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    data: dict[str, Any] = {
        "catalogue_id": catalogue.catalogue_id,
        "version": catalogue.version,
        "sha256": digest,
        "controls": control_count,
    }
    data["format"] = file_format  # which importer wrote the row
    record(session, actor, "catalogue.imported", "imported_catalogue", row.id, data)
    return row.id, False


IMPORTED_SUFFIX = "-imported"


def unshadowed(catalogue: UpstreamCatalogue, chosen: bool) -> UpstreamCatalogue:
    """The catalogue under an id no shipped catalogue has: a profile, a coverage view or a
    person naming `nist-ssdf-1.1` must always mean the shipped one. An id the importer chose is
    refused; one derived from the file (CISO Assistant's NIST SSDF library derives
    `nist-ssdf-1.1`) is stored with a suffix, and the summary says under which id."""
    if catalogue.catalogue_id not in shipped_library().catalogues:
        return catalogue
    if chosen:
        raise ValidationFailed(
            f"catalogue id {catalogue.catalogue_id} is shipped with this release; import the "
            "file under another --id"
        )
    stem = catalogue.catalogue_id[: 64 - len(IMPORTED_SUFFIX)]
    return catalogue.model_copy(update={"catalogue_id": stem + IMPORTED_SUFFIX})


def import_oscal_file(
    session: Session, actor: Actor, path: Path, catalogue_id: str | None = None
) -> CatalogueImport:
    """Parse and validate first; only a fully valid catalog is written."""
    imported: ImportedCatalog = read_oscal_catalog(path, catalogue_id)
    catalogue = unshadowed(imported.catalogue, chosen=catalogue_id is not None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    row_id, present = _store(
        session, actor, catalogue, path.name, digest, imported.control_count, OSCAL
    )
    return CatalogueImport(
        row_id,
        catalogue,
        imported.control_count,
        imported.top_level_control_count,
        already_present=present,
    )


def import_ciso_file(
    session: Session, actor: Actor, path: Path, catalogue_id: str | None = None
) -> CatalogueImport:
    """Store a CISO Assistant framework library's catalogue; the bytes checked are the bytes
    hashed. A mapping library holds no catalogue and is refused (crosswalks ship as data)."""
    data = library_bytes(path, path.name)
    imported = read_library(data, catalogue_id, name=path.name)
    catalogue = imported.catalogue
    if catalogue is None:
        raise CisoLibraryError(
            path.name,
            "objects",
            "is a mapping library (a crosswalk), not a framework; only framework libraries "
            "are stored as catalogues",
        )
    catalogue = unshadowed(catalogue, chosen=catalogue_id is not None)
    digest = hashlib.sha256(data).hexdigest()
    count = imported.item_count
    row_id, present = _store(session, actor, catalogue, path.name, digest, count, CISO_ASSISTANT)
    # A library has no control enhancements as OSCAL does: every item counts as top level.
    return CatalogueImport(row_id, catalogue, count, count, already_present=present)
