"""Read a CISO Assistant library: its framework as an UpstreamCatalogue (and, for one of this
project's exports, the Framework itself) and its mapping sets as Crosswalks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from frameworks.catalogue import UpstreamCatalogue
from frameworks.ciso_assistant.addresses import known_ends
from frameworks.ciso_assistant.document import PASSED_OVER_KINDS
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.ciso_assistant.read import parse_library
from frameworks.ciso_assistant.to_catalogue import framework_catalogue
from frameworks.ciso_assistant.to_crosswalk import mapping_set_crosswalk
from frameworks.ciso_assistant.to_framework import rebuild_framework
from frameworks.crosswalk import Crosswalk
from frameworks.library import FrameworkLibrary, shipped_library
from frameworks.schema import Framework


@dataclass(frozen=True)
class ImportedLibrary:
    urn: str
    name: str
    revision: int  # CISO Assistant's own version counter of the library
    catalogue: UpstreamCatalogue | None
    framework: Framework | None  # only for a library this project exported
    crosswalks: list[Crosswalk]
    node_count: int
    passed_over: list[str]  # what the library holds that this project does not read

    @property
    def item_count(self) -> int:
        return len(self.catalogue.items()) if self.catalogue else 0


def read_library(
    source: Path | bytes,
    catalogue_id: str | None = None,
    *,
    library: FrameworkLibrary | None = None,
    extra_catalogues: Iterable[UpstreamCatalogue] = (),
    name: str | None = None,
) -> ImportedLibrary:
    """Parse and check a library; a refusal is one CisoLibraryError naming file, place and reason.

    `library` (the shipped one by default) and `extra_catalogues` are what a mapping set's two
    ends may name. A framework's catalogue version is the framework version for this project's
    exports and CISO Assistant's library revision for any other library."""
    label = name or (source.name if isinstance(source, Path) else "library")
    document = parse_library(source, label)
    objects = document.objects
    framework_object = objects.the_framework()
    catalogue = framework = None
    node_count = 0
    if framework_object is not None:
        where = "objects.framework" if objects.framework else "objects.frameworks[0]"
        ours = framework_object.policetech_assure
        if ours is not None:
            framework = rebuild_framework(document, framework_object, label, where)
        version = framework.version if framework else str(document.version)
        catalogue = framework_catalogue(
            document, framework_object, catalogue_id, version, label, where
        )
        node_count = len(framework_object.requirement_nodes)
    crosswalks: list[Crosswalk] = []
    passed_over = [f"objects.{kind}" for kind in PASSED_OVER_KINDS if getattr(objects, kind)]
    sets = objects.mapping_sets()
    if sets:
        ends = known_ends(library or shipped_library(), extra_catalogues)
        many = objects.requirement_mapping_sets is not None
        where = "objects.requirement_mapping_sets" if many else "objects.requirement_mapping_set"
        for index, mapping_set in enumerate(sets):
            at = f"{where}[{index}]" if many else where
            crosswalk = mapping_set_crosswalk(mapping_set, ends, label, at)
            if crosswalk is None:
                passed_over.append(f"{at} (runs from a catalogue to a framework: the reverse)")
            else:
                crosswalks.append(crosswalk)
        if not crosswalks and catalogue is None:
            raise CisoLibraryError(
                label, where, "no mapping set runs from a framework of this project"
            )
    return ImportedLibrary(
        urn=document.urn.lower(),
        name=document.name,
        revision=document.version,
        catalogue=catalogue,
        framework=framework,
        crosswalks=crosswalks,
        node_count=node_count,
        passed_over=passed_over,
    )
