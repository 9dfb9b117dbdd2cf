"""Store upstream catalogues imported from OSCAL, once per id and version, with an audit event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.catalogue import UpstreamCatalogue
from frameworks.oscal.importer import ImportedCatalog, read_oscal_catalog
from kernel.errors import ValidationFailed
from posture.audit import Actor, record
from posture.storage.models import ImportedCatalogue


@dataclass(frozen=True)
class CatalogueImport:
    record_id: int
    catalogue: UpstreamCatalogue
    control_count: int
    top_level_control_count: int
    already_present: bool


def import_oscal_file(
    session: Session, actor: Actor, path: Path, catalogue_id: str | None = None
) -> CatalogueImport:
    """Parse and validate first; only a fully valid catalog is written."""
    imported: ImportedCatalog = read_oscal_catalog(path, catalogue_id)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    catalogue = imported.catalogue
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
        return CatalogueImport(
            existing.id,
            catalogue,
            imported.control_count,
            imported.top_level_control_count,
            already_present=True,
        )
    row = ImportedCatalogue(
        catalogue_id=catalogue.catalogue_id,
        version=catalogue.version,
        title=catalogue.title,
        publisher=catalogue.publisher,
        source_name=path.name[:255],
        sha256=digest,
        control_count=imported.control_count,
        content=catalogue.model_dump(mode="json"),
        imported_by_user_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "catalogue.imported",
        "imported_catalogue",
        row.id,
        {
            "catalogue_id": catalogue.catalogue_id,
            "version": catalogue.version,
            "sha256": digest,
            "controls": imported.control_count,
        },
    )
    return CatalogueImport(
        row.id,
        catalogue,
        imported.control_count,
        imported.top_level_control_count,
        already_present=False,
    )
