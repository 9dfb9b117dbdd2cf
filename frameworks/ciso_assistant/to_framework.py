"""Rebuild a Framework from a library this project exported (one whose framework carries the
`policetech_assure` key). Every node must then say which element it is, its URN must be the one
frameworks/urns.py gives that element, and it must sit under the right kind of parent."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from frameworks.ciso_assistant.document import (
    FrameworkObject,
    LibraryDocument,
    NodeType,
    RequirementNode,
)
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.schema import Framework
from frameworks.urns import UrnError, UrnKind, parse_urn, version_key

KIND_OF = {
    NodeType.OBJECTIVE: UrnKind.OBJECTIVE,
    NodeType.PRINCIPLE: UrnKind.PRINCIPLE,
    NodeType.OUTCOME: UrnKind.OUTCOME,
    NodeType.INDICATOR: UrnKind.INDICATOR,
}
PARENT_OF = {
    NodeType.OBJECTIVE: None,
    NodeType.PRINCIPLE: NodeType.OBJECTIVE,
    NodeType.OUTCOME: NodeType.PRINCIPLE,
    NodeType.INDICATOR: NodeType.OUTCOME,
}


def _node_type(node: RequirementNode, scope: str, at: str, name: str) -> NodeType:
    extension = node.policetech_assure
    if extension is None:
        raise CisoLibraryError(
            name, at, "a node of a PoliceTech Assure export must carry its policetech_assure key"
        )
    try:
        parsed = parse_urn(node.urn)
    except UrnError as exc:
        raise CisoLibraryError(name, f"{at}.urn", str(exc)) from exc
    if parsed.kind is not KIND_OF[extension.node]:
        raise CisoLibraryError(
            name, f"{at}.urn", f"is a {parsed.kind} URN on a node of type {extension.node}"
        )
    if parsed.scope != scope or parsed.element != (node.ref_text or "").lower():
        raise CisoLibraryError(
            name, f"{at}.urn", f"does not name element {node.ref_text!r} of {scope}"
        )
    return extension.node


def _required(value: Any, at: str, field: str, name: str) -> Any:
    if value is None:
        raise CisoLibraryError(name, f"{at}.{field}", "is required in a PoliceTech Assure export")
    return value


def rebuild_framework(
    library: LibraryDocument, framework: FrameworkObject, name: str, where: str
) -> Framework:
    extension = framework.policetech_assure
    assert extension is not None
    scope = version_key(extension.framework_id, extension.version)
    objectives: list[dict[str, Any]] = []
    by_key: dict[str, tuple[NodeType, dict[str, Any]]] = {}
    for index, node in enumerate(framework.requirement_nodes):
        at = f"{where}.requirement_nodes[{index}]({node.ref_text})"
        kind = _node_type(node, scope, at, name)
        parent = by_key.get(node.parent_key) if node.parent_key else None
        expected = PARENT_OF[kind]
        if (parent[0] if parent else None) is not expected:
            wanted = f"under a {expected}" if expected else "at the top"
            raise CisoLibraryError(name, at, f"a {kind} node must sit {wanted}")
        if bool(node.assessable) is not (kind is NodeType.OUTCOME):
            raise CisoLibraryError(
                name, f"{at}.assessable", "outcomes are assessable and nothing else is"
            )
        element: dict[str, Any]
        if kind is NodeType.INDICATOR:
            level = _required(node.policetech_assure.level, at, "policetech_assure.level", name)  # type: ignore[union-attr]
            element = {
                "id": node.ref_text,
                "text": _required(node.description, at, "description", name),
            }
            assert parent is not None
            parent[1]["indicators"][level.value].append(element)
        else:
            element = {
                "id": node.ref_text,
                "title": _required(node.name, at, "name", name),
                "intent": _required(node.description, at, "description", name),
            }
            if kind is NodeType.OUTCOME:
                ours = node.policetech_assure
                assert ours is not None
                element |= {
                    "audience": _required(ours.audience, at, "policetech_assure.audience", name),
                    "weight": _required(node.weight, at, "weight", name),
                    "critical": _required(ours.critical, at, "policetech_assure.critical", name),
                    "evidence_types": _required(
                        ours.evidence_types, at, "policetech_assure.evidence_types", name
                    ),
                    "indicators": {"not_achieved": [], "partially_achieved": [], "achieved": []},
                }
            children = {NodeType.OBJECTIVE: "principles", NodeType.PRINCIPLE: "outcomes"}
            if kind in children:
                element[children[kind]] = []
            if parent is None:
                objectives.append(element)
            else:
                parent[1][children[parent[0]]].append(element)
        by_key[node.key] = (kind, element)
    document = {
        "framework_id": extension.framework_id,
        "version": extension.version,
        "title": framework.name or library.name,
        "publisher": library.provider,
        "licence": library.copyright,
        "released": library.publication_date,
        "evidence_types": extension.evidence_types,
        "earlier_content_sha256": extension.earlier_content_sha256,
        "objectives": objectives,
    }
    if extension.source is not None:
        document["source"] = extension.source
    try:
        return Framework.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        raise CisoLibraryError(
            name, where, f"does not rebuild a valid framework ({place}: {reason})"
        ) from exc
