"""Hostile CISO Assistant libraries: each is refused with the file, the place in it and the
reason, and importing it leaves the database as it was."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.ciso_assistant import read as read_module
from frameworks.ciso_assistant.errors import CisoLibraryError
from frameworks.ciso_assistant.export import export_framework, library_yaml
from frameworks.ciso_assistant.importer import read_library
from frameworks.library import load_library
from posture.audit import Actor
from posture.catalogue_store import import_ciso_file
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, ImportedCatalogue

TESTER = Actor(label="tester")
BASE = "urn:example:risk:req_node:hostile"


def _library() -> dict[str, Any]:
    return {
        "urn": "urn:example:risk:library:hostile",
        "locale": "en",
        "ref_id": "hostile",
        "name": "Hostile sample",
        "version": 1,
        "objects": {
            "framework": {
                "urn": "urn:example:risk:framework:hostile",
                "ref_id": "hostile",
                "name": "Hostile sample",
                "requirement_nodes": [
                    {
                        "urn": f"{BASE}:a",
                        "assessable": False,
                        "depth": 1,
                        "ref_id": "A",
                        "name": "A",
                    },
                    {
                        "urn": f"{BASE}:a1",
                        "assessable": True,
                        "depth": 2,
                        "parent_urn": f"{BASE}:a",
                        "ref_id": "A1",
                        "name": "First",
                    },
                    {
                        "urn": f"{BASE}:a2",
                        "assessable": True,
                        "depth": 2,
                        "parent_urn": f"{BASE}:a",
                        "ref_id": "A2",
                        "name": "Second",
                    },
                ],
            }
        },
    }


def _nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["objects"]["framework"]["requirement_nodes"]


def _edited(edit: Callable[[dict[str, Any]], None]) -> bytes:
    document = copy.deepcopy(_library())
    edit(document)
    return library_yaml(document).encode()


def _ours_with_unknown_node_type() -> bytes:
    document = export_framework(load_library().latest("ptsbd"))
    _nodes(document)[0]["policetech_assure"]["node"] = "control"
    return library_yaml(document).encode()


BILLION_LAUGHS = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n".encode()
    for i in range(8)
)

# (case id, file content, expected location, words the reason must contain)
CASES: list[tuple[str, Callable[[], bytes], str, str]] = [
    (
        "unknown-node-key",
        lambda: _edited(lambda d: _nodes(d)[1].update(node_type="control")),
        "objects.framework.requirement_nodes[1](A1).node_type",
        "unknown key 'node_type'",
    ),
    (
        "unknown-node-type-in-our-export",
        _ours_with_unknown_node_type,
        "objects.framework.requirement_nodes[0](A).policetech_assure.node",
        "unknown node 'control'",
    ),
    (
        "unknown-object-kind",
        lambda: _edited(lambda d: d["objects"].update(malware=[{"urn": "urn:x:y"}])),
        "objects.malware",
        "unknown object kind 'malware'",
    ),
    (
        "duplicate-urn",
        lambda: _edited(lambda d: _nodes(d)[2].update(urn=f"{BASE}:A1")),
        "objects.framework.requirement_nodes[2](A2)",
        "duplicate URN",
    ),
    (
        "dangling-parent",
        lambda: _edited(lambda d: _nodes(d)[1].update(parent_urn=f"{BASE}:nowhere")),
        "objects.framework.requirement_nodes[1](A1).parent_urn",
        "names no earlier node",
    ),
    (
        "parent-after-child",
        lambda: _edited(lambda d: _nodes(d).reverse()),
        "objects.framework.requirement_nodes[0](A2).parent_urn",
        "names no earlier node",
    ),
    (
        "depth-disagrees",
        lambda: _edited(lambda d: _nodes(d)[2].update(depth=5)),
        "objects.framework.requirement_nodes[2](A2).depth",
        "parents put it at 2",
    ),
    (
        "ids-collide-lower-cased",
        lambda: _edited(lambda d: _nodes(d)[2].update(ref_id="a1")),
        "objects.framework.requirement_nodes[2](a1).ref_id",
        "same id once lower-cased",
    ),
    ("billion-laughs", lambda: BILLION_LAUGHS, "", "alias bomb"),
    (
        "10000-deep",
        lambda: b"objects: " + b"[" * 10_000 + b"]" * 10_000,
        "",
        "nested deeper than 64",
    ),
    (
        "python-object-tag",
        lambda: b"urn: !!python/object/apply:os.system ['echo owned']\nobjects: {}\n",
        "line 1, column 6",
        "plain data only",
    ),
    ("not-utf-8", lambda: "name: caf\u00e9\n".encode("latin-1"), "byte 9", "not UTF-8"),
    (
        # Just past the cap (five nodes before the list): refused while composing, before a tree
        # of them is built. Empty entries, because composing is what costs, and a null is the
        # cheapest node PyYAML composes (half the time of `- x`).
        "millions-of-nodes",
        lambda: b"urn: x\nobjects:\n" + b"-\n" * read_module.MAX_LIBRARY_YAML_NODES,
        "",
        "more than 500000 YAML nodes",
    ),
    (
        "nul-in-a-name",
        lambda: _edited(lambda d: _nodes(d)[1].update(name="First\x00")),
        "objects.framework.requirement_nodes[1](A1).name",
        "should match pattern",
    ),
    (
        "not-a-mapping",
        lambda: b"- just\n- a list\n",
        "",
        "not a CISO Assistant library",
    ),
]


@pytest.mark.parametrize(
    ("content", "location", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_hostile_library_is_refused_with_file_place_and_reason(
    tmp_path: Path, content: Callable[[], bytes], location: str, reason: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content())
    with pytest.raises(CisoLibraryError) as refused:
        read_library(path)
    assert refused.value.source == "hostile.yaml"
    assert refused.value.location == location
    assert reason in refused.value.reason
    assert str(refused.value).startswith("hostile.yaml")


def test_a_60_mb_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"urn: x\ndescription: '")
        handle.write(b"x" * (60 * 1024 * 1024))
        handle.write(b"'\n")
    with pytest.raises(CisoLibraryError, match=r"huge\.yaml: refused: larger than 16777216 bytes"):
        read_library(path)


def test_bytes_over_the_cap_are_refused_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_module, "MAX_LIBRARY_BYTES", 100)
    with pytest.raises(CisoLibraryError, match="larger than 100 bytes"):
        read_library(b"x" * 101, name="in-memory.yaml")


def test_the_unmodified_sample_is_accepted() -> None:
    """The hostile cases fail for what was changed, not for the sample they start from."""
    imported = read_library(library_yaml(_library()).encode())
    assert imported.catalogue is not None
    assert imported.catalogue.item_ids() == ["A1", "A2"]


@pytest.mark.parametrize("content", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_a_refused_import_changes_nothing_in_the_database(
    sessions: sessionmaker[Session], tmp_path: Path, content: Callable[[], bytes]
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content())
    with pytest.raises(CisoLibraryError), transaction(sessions) as session:
        import_ciso_file(session, TESTER, path)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedCatalogue)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
