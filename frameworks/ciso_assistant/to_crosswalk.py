"""A requirement mapping set from a framework of this project to a known catalogue becomes a
Crosswalk. A set running the other way (the reverse set CISO Assistant's mapping libraries
carry beside the forward one) is passed over and said so; a set whose ends are not known is
refused, as is anything the crosswalk checks refuse in a shipped crosswalk file."""

from __future__ import annotations

from pydantic import ValidationError

from frameworks.ciso_assistant.addresses import KnownEnds
from frameworks.ciso_assistant.document import MappingSet
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.ciso_assistant.relationships import FROM_CISO
from frameworks.crosswalk import Crosswalk, FrameworkRef, Relationship, crosswalk_problems
from frameworks.urns import outcome_urn

NO_RATIONALE = "not stated in the CISO Assistant library"


def _mappings(mapping_set: MappingSet, ends: KnownEnds, name: str, where: str) -> list[dict]:
    framework = ends.frameworks[mapping_set.source_framework_urn.lower()]
    target = ends.catalogues[mapping_set.target_framework_urn.lower()]
    outcomes = {
        outcome_urn(framework.framework_id, framework.version, outcome.id): outcome.id
        for outcome in framework.outcomes()
    }
    mappings: list[dict] = []
    for index, mapping in enumerate(mapping_set.requirement_mappings):
        at = f"{where}.requirement_mappings[{index}]"
        source = outcomes.get(mapping.source_requirement_urn.lower())
        if source is None:
            raise CisoLibraryError(
                name,
                f"{at}.source_requirement_urn",
                f"names no outcome of {framework.framework_id} {framework.version}",
            )
        target_id = target.id_by_urn.get(mapping.target_requirement_urn.lower())
        if target_id is None:
            raise CisoLibraryError(
                name,
                f"{at}.target_requirement_urn",
                f"names no element of {target.catalogue.catalogue_id}",
            )
        relationship = FROM_CISO.get(mapping.relationship)
        if relationship is None or relationship is Relationship.NO_RELATIONSHIP:
            raise CisoLibraryError(
                name,
                f"{at}.relationship",
                f"unknown relationship {mapping.relationship!r}; a mapping is equal, subset, "
                "superset or intersect (a target nothing relates to is listed without a source)",
            )
        if mapping.strength_of_relationship is None:
            raise CisoLibraryError(
                name,
                f"{at}.strength_of_relationship",
                "is required (1 to 10): coverage in this project depends on it",
            )
        mappings.append(
            {
                "source": source,
                "target": target_id,
                "relationship": relationship,
                "strength": mapping.strength_of_relationship,
                "rationale": (mapping.rationale or mapping.annotation or "").strip()
                or NO_RATIONALE,
            }
        )
    extension = mapping_set.policetech_assure
    for entry in sorted(extension.not_related if extension else [], key=lambda e: e.position):
        at = f"{where}.policetech_assure.not_related"
        target_id = target.id_by_urn.get(entry.target_requirement_urn.lower())
        if target_id is None:
            raise CisoLibraryError(
                name, at, f"{entry.target_requirement_urn} names no element of the target"
            )
        if entry.position > len(mappings):
            raise CisoLibraryError(name, at, f"position {entry.position} is past the end")
        mappings.insert(
            entry.position,
            {
                "target": target_id,
                "relationship": Relationship.NO_RELATIONSHIP,
                "strength": 0,
                "rationale": entry.rationale,
            },
        )
    return mappings


def mapping_set_crosswalk(
    mapping_set: MappingSet, ends: KnownEnds, name: str, where: str
) -> Crosswalk | None:
    """The crosswalk, or None for a set that runs from a catalogue to a framework."""
    source_urn = mapping_set.source_framework_urn.lower()
    target_urn = mapping_set.target_framework_urn.lower()
    if source_urn not in ends.frameworks:
        if source_urn in ends.catalogues and target_urn in ends.frameworks:
            return None
        raise CisoLibraryError(
            name,
            f"{where}.source_framework_urn",
            f"{mapping_set.source_framework_urn} is not a framework version of this project",
        )
    if target_urn not in ends.catalogues:
        raise CisoLibraryError(
            name,
            f"{where}.target_framework_urn",
            f"{mapping_set.target_framework_urn} is not a catalogue this project knows",
        )
    framework = ends.frameworks[source_urn]
    target = ends.catalogues[target_urn].catalogue
    extension = mapping_set.policetech_assure
    try:
        crosswalk = Crosswalk(
            source=FrameworkRef(framework_id=framework.framework_id, version=framework.version),
            target=target.catalogue_id,
            complete_for_target=extension.complete_for_target if extension else False,
            mappings=_mappings(mapping_set, ends, name, where),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        raise CisoLibraryError(
            name, where, f"is not a valid crosswalk ({place}: {reason})"
        ) from exc
    problems = crosswalk_problems(crosswalk, framework, target.item_ids())
    if problems:
        place, problem = problems[0]
        raise CisoLibraryError(name, f"{where} (crosswalk {place})", problem)
    return crosswalk
