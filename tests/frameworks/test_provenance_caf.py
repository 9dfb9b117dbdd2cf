"""The shipped CAF is CAF 4.0 as the NCSC published it: ids, order and levels, nothing else.

The official lists below are transcribed from the source document, not from our data file, so a
shipped file that drifts (an outcome lost, one kept from CAF 3.2, a reordering) fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assure_cli.framework import app
from frameworks.library import shipped_library, validate_library
from frameworks.loader import DATA_ROOT, LoadedFramework
from frameworks.schema import LEVEL_ORDER, Audience, Level

# NCSC, "Cyber Assessment Framework v4.0", published 6 August 2025.
CAF_SOURCE = {
    "publisher": "National Cyber Security Centre",
    "title": "Cyber Assessment Framework v4.0",
    "published": "2025-08-06",
    "url": "https://www.ncsc.gov.uk/collection/cyber-assessment-framework",
}

OFFICIAL_PRINCIPLES = {
    "A": ["A1", "A2", "A3", "A4"],
    "B": ["B1", "B2", "B3", "B4", "B5", "B6"],
    "C": ["C1", "C2"],
    "D": ["D1", "D2"],
}

# The 41 contributing outcomes of CAF 4.0, in the document's order.
OFFICIAL_OUTCOMES = [
    "A1.a", "A1.b", "A1.c",
    "A2.a", "A2.b", "A2.c",
    "A3.a",
    "A4.a", "A4.b",
    "B1.a", "B1.b",
    "B2.a", "B2.b", "B2.c", "B2.d",
    "B3.a", "B3.b", "B3.c", "B3.d", "B3.e",
    "B4.a", "B4.b", "B4.c", "B4.d",
    "B5.a", "B5.b", "B5.c",
    "B6.a", "B6.b",
    "C1.a", "C1.b", "C1.c", "C1.d", "C1.e", "C1.f",
    "C2.a",
    "D1.a", "D1.b", "D1.c",
    "D2.a", "D2.b",
]  # fmt: skip

# Outcomes for which CAF 4.0 gives no "partially achieved" indicators.
NO_PARTIALLY_ACHIEVED = {"A1.a", "A1.b", "A1.c", "A2.c", "A3.a", "D1.b", "D1.c", "D2.a", "D2.b"}

CAF_KEY = ("ncsc-caf", "4.0")
CAF_CATALOGUE = "ncsc-caf-4.0"


def differences(official: list[str], shipped: list[str]) -> list[str]:
    """Every way the shipped list departs from the official one, in words."""
    found = [f"missing {i}" for i in official if i not in shipped]
    found += [f"extra {i}" for i in shipped if i not in official]
    if len(shipped) != len(set(shipped)):
        found.append("duplicate ids")
    if not found and shipped != official:
        found.append(f"order differs: {shipped}")
    return found


@pytest.fixture(scope="module")
def caf() -> LoadedFramework:
    return shipped_library().frameworks[CAF_KEY]


def test_the_source_document_is_named_and_matches_the_framework_file(caf: LoadedFramework) -> None:
    framework = caf.framework
    assert framework.source == CAF_SOURCE["url"]
    assert framework.publisher == CAF_SOURCE["publisher"]
    assert framework.released.isoformat() == CAF_SOURCE["published"]
    assert (framework.framework_id, framework.version) == CAF_KEY
    assert "Open Government Licence v3.0" in framework.licence


def test_the_comparison_reports_missing_extra_and_reordered_ids() -> None:
    # CAF 3.2's objective C, as the file used to ship it, is caught three ways.
    as_32 = [i for i in OFFICIAL_OUTCOMES if i != "C1.f"] + ["C2.b"]
    assert differences(OFFICIAL_OUTCOMES, as_32) == ["missing C1.f", "extra C2.b"]
    swapped = ["A1.b", "A1.a", *OFFICIAL_OUTCOMES[2:]]
    assert differences(OFFICIAL_OUTCOMES, swapped)[0].startswith("order differs")
    assert differences(OFFICIAL_OUTCOMES, [*OFFICIAL_OUTCOMES, "A1.a"]) == ["duplicate ids"]
    assert differences(OFFICIAL_OUTCOMES, list(OFFICIAL_OUTCOMES)) == []


def test_outcomes_are_exactly_the_official_41_in_order(caf: LoadedFramework) -> None:
    shipped = [outcome.id for outcome in caf.framework.outcomes()]
    assert len(OFFICIAL_OUTCOMES) == 41
    assert differences(OFFICIAL_OUTCOMES, shipped) == []


def test_objectives_and_principles_are_exactly_the_official_ones(caf: LoadedFramework) -> None:
    shipped = {
        objective.id: [principle.id for principle in objective.principles]
        for objective in caf.framework.objectives
    }
    assert list(shipped) == list(OFFICIAL_PRINCIPLES)
    assert shipped == OFFICIAL_PRINCIPLES


def test_every_outcome_sits_under_the_principle_its_id_names(caf: LoadedFramework) -> None:
    for outcome_id, (objective, principle) in caf.framework.outcome_parents().items():
        assert outcome_id.split(".")[0] == principle
        assert principle[0] == objective


def test_the_catalogue_crosswalks_see_is_derived_from_the_framework_alone(
    caf: LoadedFramework,
) -> None:
    library = shipped_library()
    view = library.catalogues[CAF_CATALOGUE]
    assert differences(OFFICIAL_OUTCOMES, view.item_ids()) == []
    assert view.source == CAF_SOURCE["url"]
    assert not (DATA_ROOT / "upstream" / f"{CAF_CATALOGUE}.yaml").exists()
    titles = {item.id: item.title for item in view.items()}
    assert titles == {o.id: o.title for o in caf.framework.outcomes()}


def test_indicators_exist_at_the_levels_caf_4_gives(caf: LoadedFramework) -> None:
    for outcome in caf.framework.outcomes():
        levels = outcome.indicators
        assert levels.not_achieved, outcome.id
        assert levels.achieved, outcome.id
        has_partial = bool(levels.partially_achieved)
        assert has_partial is (outcome.id not in NO_PARTIALLY_ACHIEVED), outcome.id


def test_indicator_ids_are_numbered_from_one_per_level(caf: LoadedFramework) -> None:
    prefixes = {
        Level.NOT_ACHIEVED: "NA",
        Level.PARTIALLY_ACHIEVED: "PA",
        Level.ACHIEVED: "A",
    }
    for outcome in caf.framework.outcomes():
        for level, indicators in outcome.indicators.by_level().items():
            expected = [f"{outcome.id}.{prefixes[level]}{n}" for n in range(1, len(indicators) + 1)]
            assert [i.id for i in indicators] == expected


def test_every_outcome_is_for_forces_with_a_weight_and_known_evidence(
    caf: LoadedFramework,
) -> None:
    critical = {o.id for o in caf.framework.outcomes() if o.critical}
    assert critical == {"B2.a", "B2.c", "B4.d", "B5.c", "D1.a"}
    for outcome in caf.framework.outcomes():
        assert outcome.audience is Audience.FORCE
        assert (outcome.weight == 5) is outcome.critical, outcome.id


def test_profiles_name_only_caf_outcomes_and_reachable_levels(caf: LoadedFramework) -> None:
    assert sorted(caf.profiles) == ["caf-baseline", "caf-enhanced"]
    outcomes = {o.id: o for o in caf.framework.outcomes()}
    for profile in caf.profiles.values():
        assert profile.subject is Audience.FORCE
        assert list(profile.targets) == OFFICIAL_OUTCOMES
        assert profile.out_of_scope == {}
        for outcome_id, level in profile.targets.items():
            # A partially achieved target needs indicators to reach it by.
            if level is Level.PARTIALLY_ACHIEVED:
                assert outcomes[outcome_id].indicators.partially_achieved, outcome_id
            assert profile.target_for(outcomes[outcome_id]) is level


def test_enhanced_asks_at_least_what_baseline_asks_and_more_somewhere(
    caf: LoadedFramework,
) -> None:
    baseline = caf.profiles["caf-baseline"].targets
    enhanced = caf.profiles["caf-enhanced"].targets
    assert all(LEVEL_ORDER[enhanced[i]] >= LEVEL_ORDER[baseline[i]] for i in OFFICIAL_OUTCOMES)
    raised = sorted(i for i in OFFICIAL_OUTCOMES if enhanced[i] != baseline[i])
    assert raised == [
        "A2.a", "B1.a", "B1.b", "B2.b", "B3.b", "B4.b", "B4.d",
        "B5.a", "B5.c", "C1.b", "C1.d", "C1.e", "C1.f",
    ]  # fmt: skip


def test_coverage_against_caf_lists_c1f_and_no_c2b() -> None:
    result = CliRunner().invoke(
        app, ["coverage", "--against", CAF_CATALOGUE, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    ids = [element["id"] for element in report["elements"]]
    assert differences(OFFICIAL_OUTCOMES, ids) == []
    statuses = {element["id"]: element["status"] for element in report["elements"]}
    assert "not in crosswalk" not in statuses.values()
    assert statuses["C1.f"] == "unmapped"
    assert statuses["C2.a"] == "unmapped"
    assert "C2.b" not in statuses


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_ROOT, target)
    return target


def test_a_caf_upstream_file_next_to_the_framework_is_refused(data_copy: Path) -> None:
    (data_copy / "upstream" / f"{CAF_CATALOGUE}.yaml").write_text(
        "catalogue_id: ncsc-caf-4.0\ntitle: CAF\nversion: '4.0'\npublisher: NCSC\n"
        "licence: OGL\nsource: elsewhere\ngroups:\n  - id: C\n    title: C\n"
        "    items:\n      - {id: C2.b, title: Proactive discovery}\n"
    )
    library, problems = validate_library(data_copy)
    assert library is None
    assert any("ncsc-caf-4.0 is also shipped as a framework" in p for p in problems)


def test_a_crosswalk_naming_the_retired_c2b_is_refused(data_copy: Path) -> None:
    walk = data_copy / "crosswalks" / "ptsbd-1.0__ncsc-caf-4.0.yaml"
    walk.write_text(
        walk.read_text()
        + '  - {target: C2.b, relationship: no-relationship, strength: 0, rationale: "old"}\n'
    )
    library, problems = validate_library(data_copy)
    assert library is None
    assert any("unknown ncsc-caf-4.0 element C2.b" in p for p in problems)


def test_a_profile_naming_an_outcome_caf_lacks_is_refused(data_copy: Path) -> None:
    profiles = data_copy / "ncsc-caf" / "profiles-4.0.yaml"
    profiles.write_text(profiles.read_text().replace("C2.a: achieved", "C2.b: achieved", 1))
    library, problems = validate_library(data_copy)
    assert library is None
    assert any("profiles-4.0.yaml" in p and "unknown outcome C2.b" in p for p in problems)
