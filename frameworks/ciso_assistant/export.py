"""Write a shipped framework version, or a crosswalk, as a CISO Assistant library (a dict ready
for YAML). What goes where is described in frameworks/ciso_assistant/__init__.py."""

from __future__ import annotations

from typing import Any

import yaml

from frameworks.ciso_assistant.addresses import known_ends
from frameworks.ciso_assistant.document import EXTENSION, NodeType
from frameworks.ciso_assistant.relationships import TO_CISO
from frameworks.crosswalk import Crosswalk, Relationship
from frameworks.library import FrameworkLibrary
from frameworks.loader import LoadedFramework
from frameworks.schema import LEVEL_ORDER, Framework, Level, Outcome
from frameworks.urns import UrnKind, crosswalk_urn, element_urn, framework_urn, version_key

PACKAGER = "PoliceTech Assure"
LOCALE = "en"
# CISO Assistant's own revision counter for a library; one export is one revision.
LIBRARY_REVISION = 1
LEVEL_NAMES = {
    Level.NOT_ACHIEVED: "Not achieved",
    Level.PARTIALLY_ACHIEVED: "Partially achieved",
    Level.ACHIEVED: "Achieved",
}
LEVEL_MEANINGS = {
    Level.NOT_ACHIEVED: "The not-achieved indicators describe the organisation or product.",
    Level.PARTIALLY_ACHIEVED: "Some, not all, of the achieved indicators hold.",
    Level.ACHIEVED: "Every achieved indicator holds.",
}


def _node(
    kind: UrnKind, framework: Framework, element_id: str, depth: int, parent: str | None
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "urn": element_urn(kind, framework.framework_id, framework.version, element_id),
        "assessable": kind is UrnKind.OUTCOME,
        "depth": depth,
    }
    if parent is not None:
        node["parent_urn"] = parent
    node["ref_id"] = element_id
    return node


def _outcome_nodes(
    framework: Framework, outcome: Outcome, parent: str, groups: list[str]
) -> list[dict[str, Any]]:
    node = _node(UrnKind.OUTCOME, framework, outcome.id, 3, parent)
    node |= {
        "name": outcome.title,
        "description": outcome.intent,
        "weight": outcome.weight,
        "typical_evidence": "\n".join(outcome.evidence_types),
    }
    if groups:
        node["implementation_groups"] = groups
    node[EXTENSION] = {
        "node": NodeType.OUTCOME.value,
        "audience": outcome.audience.value,
        "critical": outcome.critical,
        "evidence_types": list(outcome.evidence_types),
    }
    nodes = [node]
    for level, indicators in outcome.indicators.by_level().items():
        for indicator in indicators:
            child = _node(UrnKind.INDICATOR, framework, indicator.id, 4, node["urn"])
            child |= {
                "name": LEVEL_NAMES[level],
                "description": indicator.text,
                EXTENSION: {"node": NodeType.INDICATOR.value, "level": level.value},
            }
            nodes.append(child)
    return nodes


def _profile_groups(loaded: LoadedFramework) -> dict[str, list[str]]:
    """Outcome id -> the profiles (implementation groups) that set it a target."""
    groups: dict[str, list[str]] = {}
    for outcome in loaded.framework.outcomes():
        groups[outcome.id] = [
            profile.id
            for profile in loaded.profiles.values()
            if profile.target_for(outcome) is not None
        ]
    return groups


def export_framework(loaded: LoadedFramework) -> dict[str, Any]:
    """A CISO Assistant framework library; read_library() rebuilds the identical Framework."""
    framework = loaded.framework
    urn = framework_urn(framework.framework_id, framework.version)
    groups = _profile_groups(loaded)
    nodes: list[dict[str, Any]] = []
    for objective in framework.objectives:
        top = _node(UrnKind.OBJECTIVE, framework, objective.id, 1, None)
        top |= {"name": objective.title, "description": objective.intent}
        top[EXTENSION] = {"node": NodeType.OBJECTIVE.value}
        nodes.append(top)
        for principle in objective.principles:
            middle = _node(UrnKind.PRINCIPLE, framework, principle.id, 2, top["urn"])
            middle |= {"name": principle.title, "description": principle.intent}
            middle[EXTENSION] = {"node": NodeType.PRINCIPLE.value}
            nodes.append(middle)
            for outcome in principle.outcomes:
                nodes.extend(_outcome_nodes(framework, outcome, middle["urn"], groups[outcome.id]))
    extension: dict[str, Any] = {
        "framework_id": framework.framework_id,
        "version": framework.version,
        "evidence_types": list(framework.evidence_types),
        "earlier_content_sha256": list(framework.earlier_content_sha256),
    }
    if framework.source is not None:
        extension["source"] = framework.source
    ref_id = version_key(framework.framework_id, framework.version)
    description = f"{framework.title} {framework.version}, published by {framework.publisher}."
    framework_object: dict[str, Any] = {
        "urn": urn,
        "ref_id": ref_id,
        "name": framework.title,
        "description": description,
        "min_score": 0,
        "max_score": 2,
        "scores_definition": [
            {"score": score, "name": LEVEL_NAMES[level], "description": LEVEL_MEANINGS[level]}
            for level, score in sorted(LEVEL_ORDER.items(), key=lambda pair: pair[1])
        ],
    }
    if loaded.profiles:
        framework_object["implementation_groups_definition"] = [
            {"ref_id": profile.id, "name": profile.title, "description": profile.description}
            for profile in loaded.profiles.values()
        ]
    framework_object["requirement_nodes"] = nodes
    framework_object[EXTENSION] = extension
    return {
        "urn": urn,
        "locale": LOCALE,
        "ref_id": ref_id,
        "name": framework.title,
        "description": description,
        "copyright": framework.licence,
        "version": LIBRARY_REVISION,
        "publication_date": framework.released,
        "provider": framework.publisher,
        "packager": PACKAGER,
        "objects": {"framework": framework_object},
    }


def export_crosswalk(crosswalk: Crosswalk, library: FrameworkLibrary) -> dict[str, Any]:
    """A CISO Assistant mapping library with one requirement mapping set, source to target.

    CISO Assistant has no mapping without a source requirement, so a target PTSbD does not relate
    to is carried, with its place in the crosswalk, in the set's `policetech_assure` key."""
    source = library.frameworks[(crosswalk.source.framework_id, crosswalk.source.version)]
    framework = source.framework
    ends = known_ends(library)
    target = ends.catalogue_ids[crosswalk.target]
    source_urn = framework_urn(framework.framework_id, framework.version)
    source_key = version_key(framework.framework_id, framework.version)
    target_key = version_key(target.catalogue.catalogue_id, target.catalogue.version)
    urn = crosswalk_urn(source_key, target_key)
    mappings: list[dict[str, Any]] = []
    not_related: list[dict[str, Any]] = []
    for position, mapping in enumerate(crosswalk.mappings):
        target_urn = target.urn_by_id[mapping.target]
        if mapping.relationship is Relationship.NO_RELATIONSHIP:
            not_related.append(
                {
                    "position": position,
                    "target_requirement_urn": target_urn,
                    "rationale": mapping.rationale,
                }
            )
            continue
        assert mapping.source is not None  # the Mapping model insists on it
        mappings.append(
            {
                "source_requirement_urn": element_urn(
                    UrnKind.OUTCOME, framework.framework_id, framework.version, mapping.source
                ),
                "target_requirement_urn": target_urn,
                "relationship": TO_CISO[mapping.relationship],
                "strength_of_relationship": mapping.strength,
                "rationale": mapping.rationale,
            }
        )
    target_label = f"{target.catalogue.title} {target.catalogue.version}"
    name = f"{framework.title} {framework.version} to {target_label}"
    description = (
        f"How {framework.title} {framework.version} relates to {target_label}; each mapping "
        "reads 'source <relationship> target'."
    )
    mapping_set: dict[str, Any] = {
        "urn": urn,
        "ref_id": f"{source_key}--{target_key}",
        "name": name,
        "description": description,
        "source_framework_urn": source_urn,
        "target_framework_urn": target.urn,
        "requirement_mappings": mappings,
        EXTENSION: {
            "complete_for_target": crosswalk.complete_for_target,
            "not_related": not_related,
        },
    }
    return {
        "urn": urn,
        "locale": LOCALE,
        "ref_id": f"{source_key}--{target_key}",
        "name": name,
        "description": description,
        "copyright": framework.licence,
        "version": LIBRARY_REVISION,
        "publication_date": framework.released,
        "provider": framework.publisher,
        "packager": PACKAGER,
        "dependencies": [source_urn, target.urn],
        "objects": {"requirement_mapping_sets": [mapping_set]},
    }


def library_yaml(library: dict[str, Any]) -> str:
    """YAML as CISO Assistant's own libraries are written: keys in order, block style, UTF-8."""
    return yaml.safe_dump(library, sort_keys=False, allow_unicode=True, width=100)
