"""Any CISO Assistant framework becomes an UpstreamCatalogue.

Non-assessable nodes become groups and assessable nodes items, each keeping the library's URN.
Below an assessable node, assessable nodes become items of the same group, after it (as OSCAL
control enhancements do), and non-assessable nodes are that item's guidance, not elements
(this is where PTSbD's indicators sit). A group left with nothing to assess is dropped; assessable
nodes with no group above them gather in a group called `ungrouped`.

Ids: a node's ref_id where it fits the catalogue id pattern (letters, digits and `._():-`, at
most 64, starting with a letter or digit); otherwise the last part of its URN made to fit
(other characters become `-`); if that is taken, the same with `-<position>` added, where
position counts nodes from 1 in the file. Two ref_ids that are the same once lower-cased are
refused: they would share one URN in this project (frameworks/urns.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from frameworks.catalogue import CatalogueGroup, CatalogueItem, UpstreamCatalogue
from frameworks.ciso_assistant.document import FrameworkObject, LibraryDocument, RequirementNode
from frameworks.ciso_assistant.errors import CisoLibraryError

ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._():-]{0,63}$")
CATALOGUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
UNGROUPED = "ungrouped"
NOT_STATED = "not stated in the library"
TITLE_FROM_DESCRIPTION = 200


@dataclass
class _Group:
    node: RequirementNode | None  # None: the group of items that have none
    items: list[RequirementNode] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def _fit(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._()-]+", "-", text)
    cleaned = re.sub(r"^[^A-Za-z0-9]+", "", cleaned)
    return cleaned[:64]


def node_ids(nodes: list[RequirementNode], name: str, where: str) -> dict[str, str]:
    """Node URN (lower-cased) -> catalogue id, as the module docstring describes."""
    ids: dict[str, str] = {}
    taken: dict[str, int] = {}
    for index, node in enumerate(nodes):
        ref = node.ref_text
        if ref and ITEM_ID.fullmatch(ref):
            if ref.lower() in taken:
                other = taken[ref.lower()]
                raise CisoLibraryError(
                    name,
                    f"{where}[{index}]({ref}).ref_id",
                    f"{ref!r} and {ids[nodes[other].key]!r} (at {where}[{other}]) are the same "
                    "id once lower-cased; each element needs its own",
                )
            taken[ref.lower()] = index
            ids[node.key] = ref
    for index, node in enumerate(nodes):
        if node.key in ids:
            continue
        candidate = _fit(node.urn.rsplit(":", 1)[-1]) or "node"
        for attempt in (candidate, f"{candidate[:56]}-{index + 1}", f"node-{index + 1}"):
            if ITEM_ID.fullmatch(attempt) and attempt.lower() not in taken:
                break
        else:  # every form taken: only a library written to collide gets here
            raise CisoLibraryError(name, f"{where}[{index}]", "no free id can be derived")
        taken[attempt.lower()] = index
        ids[node.key] = attempt
    return ids


def _title(node: RequirementNode, fallback: str) -> str:
    if node.name and node.name.strip():
        return " ".join(node.name.split())[:2000]
    if node.description and node.description.strip():
        flat = " ".join(node.description.split())
        if len(flat) <= TITLE_FROM_DESCRIPTION:
            return flat
        return flat[: TITLE_FROM_DESCRIPTION - 3].rsplit(" ", 1)[0] + "..."
    return fallback


def _layout(
    nodes: list[RequirementNode],
) -> tuple[dict[str | None, _Group], list[str], list[RequirementNode]]:
    """Groups by node key (None for `ungrouped`), top-level group keys, and the item nodes."""
    groups: dict[str | None, _Group] = {}
    top: list[str] = []
    items: list[RequirementNode] = []
    item_home: dict[str, str | None] = {}  # an item's key -> the group its followers join
    dropped: set[str] = set()
    for node in nodes:
        parent = node.parent_key
        if parent is not None and parent in dropped:
            dropped.add(node.key)
        elif parent is not None and parent in item_home:
            if node.assessable:
                home = item_home[parent]
                groups.setdefault(home, _Group(None)).items.append(node)
                item_home[node.key] = home
                items.append(node)
            else:
                dropped.add(node.key)  # guidance of the item above, such as an indicator
        elif node.assessable:
            groups.setdefault(parent, _Group(None)).items.append(node)
            item_home[node.key] = parent
            items.append(node)
        else:
            groups[node.key] = _Group(node)
            if parent is None:
                top.append(node.key)
            else:
                groups[parent].groups.append(node.key)
    return groups, top, items


def framework_catalogue(
    library: LibraryDocument,
    framework: FrameworkObject,
    catalogue_id: str | None,
    version: str,
    name: str,
    where: str,
) -> UpstreamCatalogue:
    nodes = framework.requirement_nodes
    groups, top, items = _layout(nodes)
    item_keys = {node.key for node in items}
    used = [node for node in nodes if node.key in groups or node.key in item_keys]
    ids = node_ids(used, name, f"{where}.requirement_nodes")

    def item(node: RequirementNode) -> CatalogueItem:
        node_id = ids[node.key]
        return CatalogueItem(id=node_id, title=_title(node, node_id), urn=node.key)

    def build(key: str) -> CatalogueGroup | None:
        group = groups[key]
        assert group.node is not None
        children = [child for child in (build(k) for k in group.groups) if child is not None]
        if not group.items and not children:
            return None
        node_id = ids[group.node.key]
        return CatalogueGroup(
            id=node_id,
            title=_title(group.node, node_id),
            urn=group.node.key,
            items=[item(n) for n in group.items],
            groups=children,
        )

    built = [group for group in (build(key) for key in top) if group is not None]
    if None in groups and groups[None].items:
        taken = {value.lower() for value in ids.values()}
        loose_id = next(
            candidate
            for candidate in (UNGROUPED, *(f"{UNGROUPED}-{n}" for n in range(2, len(nodes) + 3)))
            if candidate not in taken
        )
        built.append(
            CatalogueGroup(
                id=loose_id,
                title="Requirements outside any group",
                items=[item(n) for n in groups[None].items],
            )
        )
    if not built:
        raise CisoLibraryError(name, f"{where}.requirement_nodes", "has no assessable node")
    title = framework.name or library.name
    try:
        return UpstreamCatalogue(
            catalogue_id=catalogue_id or derived_catalogue_id(framework, library),
            title=" ".join(title.split())[:2000] or library.urn,
            version=version,
            publisher=(library.provider or "").strip() or NOT_STATED,
            licence=(library.copyright or "").strip()[:2000] or NOT_STATED,
            source=f"CISO Assistant library {library.urn.lower()}",
            urn=framework.urn.lower(),
            groups=built,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        reason = first["msg"].removeprefix("Value error, ")
        raise CisoLibraryError(
            name, where, f"cannot become a catalogue ({place}: {reason})"
        ) from exc


def derived_catalogue_id(framework: FrameworkObject, library: LibraryDocument) -> str:
    """The framework's ref_id (else the library's), lower-cased and made to fit an id."""
    for ref in (framework.ref_id, library.ref_id):
        text = re.sub(r"[^a-z0-9._-]+", "-", str(ref).strip().lower())
        text = re.sub(r"^[^a-z0-9]+", "", text)[:64].rstrip("-")
        if text and CATALOGUE_ID.fullmatch(text):
            return text
    return "ciso-assistant-library"
