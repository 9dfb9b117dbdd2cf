"""Read a CISO Assistant library file into a checked LibraryDocument, or refuse it with the file,
the place in it and the reason.

Bytes are capped before decoding, YAML goes through checks/safe_parse (aliases, depth and the
expanded size are bounded; tags that would build Python objects have no constructor), and the
node tree is checked for what pydantic cannot see: duplicate URNs, parents that are not earlier
nodes, and depths that disagree with the parents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from checks.safe_parse import InputRefused, Limits, load_yaml
from frameworks.ciso_assistant.document import (
    KNOWN_KINDS,
    MAX_NODE_DEPTH,
    LibraryDocument,
    MappingSet,
    RequirementNode,
)
from frameworks.ciso_assistant.errors import CisoLibraryError

# CISO Assistant's largest libraries (NIST SP 800-53, ISO 27002 with guidance) are a few MB and
# well under 200,000 YAML nodes; a composed node costs a few hundred bytes of Python, so these caps
# keep a hostile file under a few hundred MB and seconds, where the general limits would allow GBs.
MAX_LIBRARY_BYTES = 16 * 1024 * 1024
MAX_LIBRARY_YAML_NODES = 500_000
LIBRARY_LIMITS = Limits(max_bytes=MAX_LIBRARY_BYTES, max_expanded_nodes=MAX_LIBRARY_YAML_NODES)


def library_bytes(source: Path | bytes, name: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            with source.open("rb") as handle:
                data = handle.read(MAX_LIBRARY_BYTES + 1)
        except OSError as exc:
            raise CisoLibraryError(name, "", f"cannot be read ({exc.strerror})") from exc
    if len(data) > MAX_LIBRARY_BYTES:
        raise CisoLibraryError(name, "", f"refused: larger than {MAX_LIBRARY_BYTES} bytes")
    return data


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise CisoLibraryError(
            name, f"byte {exc.start}", "is not UTF-8 text; CISO Assistant libraries are UTF-8"
        ) from exc


def _yaml(text: str, name: str) -> Any:
    try:
        return load_yaml(text, LIBRARY_LIMITS)
    except InputRefused as exc:
        raise CisoLibraryError(name, "", f"refused: {exc}") from exc
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CisoLibraryError(
            name,
            where,
            f"refused: {exc.problem}; a library holds plain data only (no YAML tags that build "
            "objects)",
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CisoLibraryError(name, where, f"is not valid YAML: {problem}") from exc


def _location(loc: tuple[Any, ...], document: Any) -> str:
    """A pydantic error location with list items labelled by their ref_id where they have one."""
    parts: list[str] = []
    node = document
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
            label = node.get("ref_id") if isinstance(node, dict) else None
            parts.append(f"[{key}]" + (f"({label})" if isinstance(label, str | int) else ""))
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(f".{key}" if parts else str(key))
    return "".join(parts)


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return (
            f"unknown key {error['loc'][-1]!r}: not part of the CISO Assistant library format "
            "this project reads"
        )
    if error["type"] == "missing":
        return "is required"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "enum":
        return f"unknown {error['loc'][-1]} {error['input']!r}: {message.lower()}"
    return message


def _validate(document: Any, name: str) -> LibraryDocument:
    if not isinstance(document, dict):
        raise CisoLibraryError(name, "", "is not a CISO Assistant library (not a mapping)")
    objects = document.get("objects")
    if not isinstance(objects, dict):
        raise CisoLibraryError(name, "objects", "is required and must be a mapping of objects")
    for kind in objects:
        if kind not in KNOWN_KINDS:
            raise CisoLibraryError(
                name,
                f"objects.{kind}",
                f"unknown object kind {str(kind)[:64]!r}; a CISO Assistant library holds "
                + ", ".join(KNOWN_KINDS),
            )
    for one, many in (
        ("framework", "frameworks"),
        ("requirement_mapping_set", "requirement_mapping_sets"),
    ):
        if one in objects and many in objects:
            raise CisoLibraryError(
                name, f"objects.{many}", f"a library has {one} or {many}, not both"
            )
    try:
        return LibraryDocument.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "too_long" and first["loc"][-1] == "frameworks":
            raise CisoLibraryError(
                name, "objects.frameworks", "holds more than one framework; import one per file"
            ) from exc
        raise CisoLibraryError(name, _location(first["loc"], document), _reason(first)) from exc


def _check_nodes(nodes: list[RequirementNode], where: str, name: str) -> None:
    depth_of: dict[str, int] = {}
    first_at: dict[str, int] = {}
    for index, node in enumerate(nodes):
        at = f"{where}[{index}]" + (f"({node.ref_text})" if node.ref_text else "")
        if node.key in first_at:
            raise CisoLibraryError(
                name, at, f"duplicate URN {node.urn} (first at {where}[{first_at[node.key]}])"
            )
        if node.parent_key is None:
            depth = 1
        elif node.parent_key not in depth_of:
            reason = (
                "parent_urn names the node itself"
                if node.parent_key == node.key
                else f"parent_urn {node.parent_urn} names no earlier node"
            )
            raise CisoLibraryError(name, f"{at}.parent_urn", reason)
        else:
            depth = depth_of[node.parent_key] + 1
        if node.depth is not None and node.depth != depth:
            raise CisoLibraryError(
                name, f"{at}.depth", f"is {node.depth} but the node's parents put it at {depth}"
            )
        if depth > MAX_NODE_DEPTH:
            raise CisoLibraryError(name, at, f"nested deeper than {MAX_NODE_DEPTH} levels")
        first_at[node.key] = index
        depth_of[node.key] = depth


def _check_mapping_sets(sets: list[MappingSet], where: str, name: str) -> None:
    seen: dict[str, int] = {}
    for index, mapping_set in enumerate(sets):
        key = mapping_set.urn.lower()
        if key in seen:
            raise CisoLibraryError(name, f"{where}[{index}]", f"duplicate URN {mapping_set.urn}")
        seen[key] = index


def parse_library(source: Path | bytes, name: str) -> LibraryDocument:
    """Bytes or a file to a checked document; `name` is what refusals call the input."""
    document = _yaml(_text(library_bytes(source, name), name), name)
    library = _validate(document, name)
    objects = library.objects
    framework = objects.the_framework()
    if framework is not None:
        where = "objects.framework" if objects.framework else "objects.frameworks[0]"
        _check_nodes(framework.requirement_nodes, f"{where}.requirement_nodes", name)
    many = objects.requirement_mapping_sets is not None
    where = "objects.requirement_mapping_sets" if many else "objects.requirement_mapping_set"
    _check_mapping_sets(objects.mapping_sets(), where, name)
    if framework is None and not objects.mapping_sets():
        raise CisoLibraryError(
            name, "objects", "holds neither a framework nor a requirement mapping set"
        )
    return library
