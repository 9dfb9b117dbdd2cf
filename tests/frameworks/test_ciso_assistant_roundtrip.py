"""CISO Assistant exchange: every shipped framework exports to a library that reads back to the
identical Framework, every shipped crosswalk to a mapping library that reads back equal, and a
real CISO Assistant library reads as a catalogue keeping its URNs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from frameworks.catalogue_view import catalogue_id_of
from frameworks.ciso_assistant.export import export_crosswalk, export_framework, library_yaml
from frameworks.ciso_assistant.importer import read_library
from frameworks.library import load_library
from frameworks.urns import UrnKind, outcome_urn, parse_urn

LIBRARY = load_library()
REAL = (
    Path(__file__).resolve().parents[1] / "data" / "ciso_assistant" / "nist-ssdf-1.1-excerpt.yaml"
)


def _through_yaml(document: dict) -> bytes:
    return library_yaml(document).encode("utf-8")


@pytest.mark.parametrize("key", sorted(LIBRARY.frameworks), ids="-".join)
def test_every_shipped_framework_reads_back_identical(key: tuple[str, str]) -> None:
    loaded = LIBRARY.frameworks[key]
    imported = read_library(_through_yaml(export_framework(loaded)), library=LIBRARY)
    assert imported.framework == loaded.framework
    assert imported.catalogue is not None
    assert imported.catalogue.item_ids() == [o.id for o in loaded.framework.outcomes()]


def test_ptsbd_exports_as_ciso_assistant_lays_a_framework_out() -> None:
    loaded = LIBRARY.latest("ptsbd")
    document = export_framework(loaded)
    framework = document["objects"]["framework"]
    assert document["urn"] == framework["urn"] == "urn:policetech-assure:framework:ptsbd-1.0"
    assert [s["score"] for s in framework["scores_definition"]] == [0, 1, 2]
    assert [s["name"] for s in framework["scores_definition"]] == [
        "Not achieved",
        "Partially achieved",
        "Achieved",
    ]
    assert (framework["min_score"], framework["max_score"]) == (0, 2)
    assert [g["ref_id"] for g in framework["implementation_groups_definition"]] == list(
        loaded.profiles
    )
    nodes = framework["requirement_nodes"]
    kinds = {UrnKind.OBJECTIVE: 1, UrnKind.PRINCIPLE: 2, UrnKind.OUTCOME: 3, UrnKind.INDICATOR: 4}
    for node in nodes:
        parsed = parse_urn(node["urn"])
        assert node["depth"] == kinds[parsed.kind]
        assert node["assessable"] is (parsed.kind is UrnKind.OUTCOME)
        assert parsed.element == node["ref_id"].lower()
    outcomes = [n for n in nodes if n["assessable"]]
    assert [n["urn"] for n in outcomes] == [
        outcome_urn("ptsbd", "1.0", o.id) for o in loaded.framework.outcomes()
    ]
    a1a = next(n for n in outcomes if n["ref_id"] == "A1.a")
    assert a1a["weight"] == loaded.framework.outcome("A1.a").weight
    # A force profile does not cover a supplier-only outcome, so its group is not listed there.
    for node in outcomes:
        outcome = loaded.framework.outcome(node["ref_id"])
        expected = [p.id for p in loaded.profiles.values() if p.target_for(outcome) is not None]
        assert node.get("implementation_groups", []) == expected


def test_the_export_is_plain_yaml_and_reproducible() -> None:
    loaded = LIBRARY.latest("ptsbd")
    text = library_yaml(export_framework(loaded))
    assert text == library_yaml(export_framework(loaded))
    assert "!!" not in text  # no tags a CISO Assistant loader would have to construct
    assert yaml.safe_load(text)["objects"]["framework"]["ref_id"] == "ptsbd-1.0"


@pytest.mark.parametrize("key", sorted(LIBRARY.crosswalks), ids="-".join)
def test_every_shipped_crosswalk_reads_back_equal(key: tuple[str, str, str]) -> None:
    crosswalk = LIBRARY.crosswalks[key]
    document = export_crosswalk(crosswalk, LIBRARY)
    mapping_set = document["objects"]["requirement_mapping_sets"][0]
    assert {m["relationship"] for m in mapping_set["requirement_mappings"]} <= {
        "equal",
        "subset",
        "superset",
        "intersect",
    }
    imported = read_library(_through_yaml(document), library=LIBRARY)
    assert imported.crosswalks == [crosswalk]
    assert imported.catalogue is None


def test_a_crosswalk_to_a_framework_names_its_outcomes_by_their_urns() -> None:
    framework_views = {catalogue_id_of(f.framework): f for f in LIBRARY.frameworks.values()}
    key = next(k for k in sorted(LIBRARY.crosswalks) if k[2] in framework_views and k[0] == "ptsbd")
    target = framework_views[key[2]].framework
    document = export_crosswalk(LIBRARY.crosswalks[key], LIBRARY)
    mapping_set = document["objects"]["requirement_mapping_sets"][0]
    outcome_urns = {
        outcome_urn(target.framework_id, target.version, o.id) for o in target.outcomes()
    }
    assert {
        m["target_requirement_urn"] for m in mapping_set["requirement_mappings"]
    } <= outcome_urns


def test_a_no_relationship_entry_keeps_its_place() -> None:
    key = next(
        k
        for k, c in sorted(LIBRARY.crosswalks.items())
        if any(m.source is None for m in c.mappings[1:])
    )
    crosswalk = LIBRARY.crosswalks[key]
    document = export_crosswalk(crosswalk, LIBRARY)
    mapping_set = document["objects"]["requirement_mapping_sets"][0]
    not_related = mapping_set["policetech_assure"]["not_related"]
    assert [e["position"] for e in not_related] == [
        i for i, m in enumerate(crosswalk.mappings) if m.source is None
    ]
    assert all("source_requirement_urn" in m for m in mapping_set["requirement_mappings"])
    imported = read_library(_through_yaml(document), library=LIBRARY)
    assert imported.crosswalks[0].mappings == crosswalk.mappings


def test_the_reverse_set_of_a_mapping_library_is_passed_over() -> None:
    key = sorted(LIBRARY.crosswalks)[0]
    document = export_crosswalk(LIBRARY.crosswalks[key], LIBRARY)
    forward = document["objects"]["requirement_mapping_sets"][0]
    reverse = {
        "urn": forward["urn"] + "-reverse",
        "name": "reverse",
        "source_framework_urn": forward["target_framework_urn"],
        "target_framework_urn": forward["source_framework_urn"],
        "requirement_mappings": [
            {
                "source_requirement_urn": m["target_requirement_urn"],
                "target_requirement_urn": m["source_requirement_urn"],
                "relationship": "intersect",
            }
            for m in forward["requirement_mappings"]
        ],
    }
    document["objects"]["requirement_mapping_sets"].append(reverse)
    imported = read_library(_through_yaml(document), library=LIBRARY)
    assert imported.crosswalks == [LIBRARY.crosswalks[key]]
    assert imported.passed_over == [
        "objects.requirement_mapping_sets[1] (runs from a catalogue to a framework: the reverse)"
    ]


def test_a_real_ciso_assistant_library_reads_as_a_catalogue_with_its_urns() -> None:
    imported = read_library(REAL, library=LIBRARY)
    catalogue = imported.catalogue
    assert catalogue is not None
    assert imported.framework is None
    assert catalogue.catalogue_id == "nist-ssdf-1.1"
    assert catalogue.version == "1"  # CISO Assistant's revision of the library
    assert catalogue.urn == "urn:intuitem:risk:framework:nist-ssdf-1.1"
    assert [g.id for g in catalogue.groups] == ["PO"]
    assert [g.id for g in catalogue.groups[0].groups] == ["PO.1", "PO.2"]
    assert catalogue.item_ids() == ["PO.1.1", "PO.1.2", "PO.1.3", "PO.2.1"]
    first = catalogue.items()[0]
    assert first.urn == "urn:intuitem:risk:req_node:nist-ssdf-1.1:po.1.1"
    # An assessable node without a name is titled from its description.
    assert first.title.startswith("Identify and document all security requirements")
    assert imported.node_count == 10  # the unnamed example nodes are guidance, not elements


def test_ids_come_from_ref_ids_or_else_from_the_urn() -> None:
    library = {
        "urn": "urn:example:risk:library:sample",
        "locale": "en",
        "ref_id": "Sample Library",
        "name": "Sample",
        "version": 3,
        "objects": {
            "framework": {
                "urn": "urn:example:risk:framework:sample",
                "ref_id": "Sample Framework",
                "min_score": 0,
                "max_score": 3,
                "scores_definition": [{"score": 0, "name": "None"}],
                "implementation_groups_definition": [{"ref_id": "ig1", "name": "Basic"}],
                "requirement_nodes": [
                    {"urn": "urn:example:risk:req_node:sample:s1", "name": "Section one"},
                    {
                        "urn": "urn:example:risk:req_node:sample:s1.r1",
                        "parent_urn": "urn:example:risk:req_node:sample:s1",
                        "assessable": True,
                        "ref_id": "R 1",
                        "name": "A ref_id with a space",
                        "implementation_groups": ["ig1"],
                    },
                    {
                        "urn": "urn:example:risk:req_node:sample:loose",
                        "assessable": True,
                        "name": "Loose",
                    },
                    {"urn": "urn:example:risk:req_node:sample:empty", "name": "Heading only"},
                ],
            }
        },
    }
    imported = read_library(_through_yaml(library), library=LIBRARY)
    catalogue = imported.catalogue
    assert catalogue is not None
    assert catalogue.catalogue_id == "sample-framework"
    assert catalogue.version == "3"
    assert [g.id for g in catalogue.groups] == ["s1", "ungrouped"]  # the empty heading is dropped
    assert catalogue.item_ids() == ["s1.r1", "loose"]
    assert (
        read_library(_through_yaml(library), "my-id", library=LIBRARY).catalogue.catalogue_id
        == "my-id"
    )  # type: ignore[union-attr]
