"""An assessable framework seen as an upstream catalogue, so crosswalks and coverage can target it.

The CAF and Cyber Essentials are shipped as full frameworks (indicators, profiles, scoring) so a
force can be assessed against them directly; their id lists and titles live in that one file, and
this view is how crosswalks see them (a catalogue id is the framework id and version joined).
"""

from __future__ import annotations

from frameworks.catalogue import CatalogueGroup, CatalogueItem, UpstreamCatalogue
from frameworks.schema import Framework
from frameworks.urns import version_key


def catalogue_id_of(framework: Framework) -> str:
    return version_key(framework.framework_id, framework.version)


def framework_catalogue(framework: Framework) -> UpstreamCatalogue:
    """Objectives and principles become groups, outcomes become items."""
    return UpstreamCatalogue(
        catalogue_id=catalogue_id_of(framework),
        title=framework.title,
        version=framework.version,
        publisher=framework.publisher,
        licence=framework.licence,
        source=framework.source or f"{framework.framework_id} {framework.version} (this project)",
        groups=[
            CatalogueGroup(
                id=objective.id,
                title=objective.title,
                groups=[
                    CatalogueGroup(
                        id=principle.id,
                        title=principle.title,
                        items=[
                            CatalogueItem(id=outcome.id, title=outcome.title)
                            for outcome in principle.outcomes
                        ],
                    )
                    for principle in objective.principles
                ],
            )
            for objective in framework.objectives
        ],
    )
