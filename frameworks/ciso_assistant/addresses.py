"""The URNs a crosswalk's two ends are known by, in both directions.

A framework's outcomes are named by frameworks/urns.py; an upstream catalogue's items by the URN
an imported library gave them, or else by this project's scheme. A mapping library read back
resolves its URNs through the same table, so export and import cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from frameworks.catalogue import UpstreamCatalogue
from frameworks.catalogue_view import catalogue_id_of
from frameworks.library import FrameworkLibrary
from frameworks.schema import Framework
from frameworks.urns import UrnKind, element_urn, framework_urn, outcome_urn


def catalogue_urn_of(catalogue: UpstreamCatalogue) -> str:
    return (catalogue.urn or framework_urn(catalogue.catalogue_id, catalogue.version)).lower()


def item_urns(catalogue: UpstreamCatalogue, framework: Framework | None) -> dict[str, str]:
    """Item id -> URN; a catalogue that is a framework's view names items as its outcomes."""
    urns = {}
    for item in catalogue.items():
        if item.urn:
            urns[item.id] = item.urn.lower()
        elif framework is not None:
            urns[item.id] = outcome_urn(framework.framework_id, framework.version, item.id)
        else:
            kind = UrnKind.REQUIREMENT
            urns[item.id] = element_urn(kind, catalogue.catalogue_id, catalogue.version, item.id)
    return urns


@dataclass(frozen=True)
class KnownCatalogue:
    catalogue: UpstreamCatalogue
    urn: str
    id_by_urn: dict[str, str]
    urn_by_id: dict[str, str]


@dataclass
class KnownEnds:
    """Frameworks (by framework URN) and catalogues (by catalogue URN) a crosswalk may join."""

    frameworks: dict[str, Framework] = field(default_factory=dict)
    catalogues: dict[str, KnownCatalogue] = field(default_factory=dict)
    catalogue_ids: dict[str, KnownCatalogue] = field(default_factory=dict)

    def add_catalogue(self, catalogue: UpstreamCatalogue, framework: Framework | None) -> None:
        by_id = item_urns(catalogue, framework)
        known = KnownCatalogue(
            catalogue, catalogue_urn_of(catalogue), {u: i for i, u in by_id.items()}, by_id
        )
        self.catalogues.setdefault(known.urn, known)
        self.catalogue_ids.setdefault(catalogue.catalogue_id, known)


def known_ends(library: FrameworkLibrary, extra: Iterable[UpstreamCatalogue] = ()) -> KnownEnds:
    ends = KnownEnds()
    views = {}
    for loaded in library.frameworks.values():
        framework = loaded.framework
        ends.frameworks[framework_urn(framework.framework_id, framework.version)] = framework
        views[catalogue_id_of(framework)] = framework
    for catalogue_id, catalogue in sorted(library.catalogues.items()):
        ends.add_catalogue(catalogue, views.get(catalogue_id))
    for catalogue in extra:
        ends.add_catalogue(catalogue, None)
    return ends
