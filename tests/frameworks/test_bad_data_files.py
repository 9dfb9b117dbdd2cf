"""Each kind of broken data file is refused whole, naming the file, the place and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from frameworks.library import validate_library
from frameworks.loader import DATA_ROOT

PTSBD = "ptsbd/ptsbd-1.0.yaml"
PROFILES = "ptsbd/profiles-1.0.yaml"
CAF_WALK = "crosswalks/ptsbd-1.0__ncsc-caf-4.0.yaml"
COP_WALK = "crosswalks/ptsbd-1.0__uk-software-security-cop-1.0.yaml"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_ROOT, target)
    return target


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


def problems_for(root: Path) -> list[str]:
    library, problems = validate_library(root)
    assert library is None, "a broken data folder must not load at all"
    return problems


def test_the_unedited_copy_loads(data_dir: Path) -> None:
    library, problems = validate_library(data_dir)
    assert problems == []
    assert library is not None


def test_broken_yaml_gives_line_and_column(data_dir: Path) -> None:
    edit(data_dir, PTSBD, "objectives:\n", "objectives: [\n")
    (problem,) = [p for p in problems_for(data_dir) if "ptsbd-1.0.yaml" in p]
    assert "not valid YAML" in problem
    assert "line" in problem
    assert "column" in problem


def test_a_duplicate_outcome_id_is_refused(data_dir: Path) -> None:
    edit(data_dir, PTSBD, "          - id: A1.b\n", "          - id: A1.a\n")
    problems = problems_for(data_dir)
    assert any("ptsbd-1.0.yaml" in p and "A1.a" in p for p in problems)


def test_a_weight_out_of_range_names_the_outcome(data_dir: Path) -> None:
    edit(data_dir, PTSBD, "            weight: 3\n", "            weight: 11\n")
    problems = problems_for(data_dir)
    assert any("outcomes[0](A1.a).weight" in p and "less than or equal to 5" in p for p in problems)


def test_an_indicator_under_the_wrong_outcome_is_refused(data_dir: Path) -> None:
    edit(data_dir, PTSBD, "{id: A1.a.A1,", "{id: A1.b.A9,")
    assert any("must start with its outcome id" in p for p in problems_for(data_dir))


def test_an_unknown_evidence_type_is_refused(data_dir: Path) -> None:
    edit(
        data_dir,
        PTSBD,
        "evidence_types: [policy_document, attestation]",
        "evidence_types: [policy_document, horoscope]",
    )
    assert any("unknown evidence type 'horoscope'" in p for p in problems_for(data_dir))


def test_a_profile_target_naming_an_unknown_outcome_is_refused(data_dir: Path) -> None:
    edit(data_dir, PROFILES, "      A1.a: achieved\n", "      Z9.z: achieved\n")
    problems = problems_for(data_dir)
    assert any(
        "profiles-1.0.yaml" in p and "targets.Z9.z" in p and "unknown outcome" in p
        for p in problems
    )


def test_a_crosswalk_naming_an_unknown_outcome_is_refused(data_dir: Path) -> None:
    edit(data_dir, CAF_WALK, "{source: A1.b, target: A1.b,", "{source: Q1.b, target: A1.b,")
    problems = problems_for(data_dir)
    assert any("ncsc-caf-4.0.yaml" in p and "unknown PTSbD outcome Q1.b" in p for p in problems)


def test_a_crosswalk_naming_an_unknown_target_is_refused(data_dir: Path) -> None:
    edit(data_dir, CAF_WALK, "{source: A1.b, target: A1.b,", "{source: A1.b, target: A9.z,")
    assert any("unknown ncsc-caf-4.0 element A9.z" in p for p in problems_for(data_dir))


def test_a_complete_crosswalk_with_a_gap_is_refused(data_dir: Path) -> None:
    edit(
        data_dir,
        COP_WALK,
        '  - {source: B3.a, target: "3.2", relationship: equal, strength: 9, '
        'rationale: "Both require a published disclosure policy with tracked handling."}\n',
        "",
    )
    problems = problems_for(data_dir)
    assert any("element 3.2 is neither mapped nor marked no-relationship" in p for p in problems)


def test_no_relationship_with_a_source_is_refused(data_dir: Path) -> None:
    edit(
        data_dir,
        CAF_WALK,
        "{target: B6.a, relationship: no-relationship, strength: 0,",
        "{source: A1.a, target: B6.a, relationship: no-relationship, strength: 0,",
    )
    assert any("no-relationship takes no source" in p for p in problems_for(data_dir))


def test_a_strength_out_of_range_is_refused(data_dir: Path) -> None:
    edit(
        data_dir,
        CAF_WALK,
        "relationship: equal, strength: 8,",
        "relationship: equal, strength: 12,",
    )
    assert any("strength" in p and "less than or equal to 10" in p for p in problems_for(data_dir))


def test_an_unknown_relationship_is_refused(data_dir: Path) -> None:
    edit(
        data_dir,
        CAF_WALK,
        "relationship: equal, strength: 8,",
        "relationship: sort-of, strength: 8,",
    )
    (problem,) = problems_for(data_dir)
    assert "mappings[0].relationship" in problem
    assert "'intersects-with'" in problem


def test_a_duplicate_upstream_element_is_refused(data_dir: Path) -> None:
    edit(data_dir, "upstream/owasp-api-top10-2023.yaml", '{id: "API2:2023",', '{id: "API1:2023",')
    assert any(
        "owasp-api-top10-2023.yaml" in p and "duplicate id API1:2023" in p
        for p in problems_for(data_dir)
    )


def test_ids_that_differ_only_in_case_are_refused(data_dir: Path) -> None:
    # They would share a URN (frameworks/urns.py lower-cases ids, as CISO Assistant does).
    edit(data_dir, "upstream/owasp-api-top10-2023.yaml", '{id: "API2:2023",', '{id: "api1:2023",')
    assert any(
        "owasp-api-top10-2023.yaml" in p and "API1:2023 and api1:2023 differ only in case" in p
        for p in problems_for(data_dir)
    )


def test_a_migration_naming_an_unknown_outcome_is_refused(data_dir: Path) -> None:
    (data_dir / "ptsbd" / "migrations.yaml").write_text(
        "framework_id: ptsbd\nmigrations:\n"
        "  - {from_version: '1.0', to_version: '1.0', outcome: X1.x, becomes: [A1.a]}\n"
    )
    assert any(
        "migrations.yaml" in p and "unknown outcome X1.x" in p for p in problems_for(data_dir)
    )
