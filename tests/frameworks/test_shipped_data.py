"""The shipped framework data is complete and consistent."""

from __future__ import annotations

import pytest

from frameworks.crosswalk import CoverageStatus, coverage
from frameworks.library import shipped_library, validate_library
from frameworks.schema import Audience, Level


def test_every_shipped_file_validates() -> None:
    library, problems = validate_library()
    assert problems == []
    assert library is not None
    assert len(library.files) >= 16


def test_ptsbd_has_objectives_principles_outcomes_and_three_levels() -> None:
    framework = shipped_library().latest("ptsbd").framework
    outcomes = framework.outcomes()
    assert len(framework.objectives) == 5
    assert len(outcomes) == 37
    for outcome in outcomes:
        assert outcome.indicators.not_achieved
        assert outcome.indicators.achieved
        assert outcome.evidence_types


@pytest.mark.parametrize(
    ("outcome_id", "topic"),
    [
        ("A3.b", "Software bill of materials"),
        ("C3.a", "Cryptographic inventory"),
        ("B3.a", "Vulnerability disclosure"),
        ("B2.a", "No default credentials"),
        ("B2.c", "Multi-factor authentication"),
        ("D1.a", "Logging and audit evidence for customers"),
        ("B4.a", "API security"),
        ("C3.b", "Post-quantum key exchange"),
        ("C3.c", "Post-quantum migration plan"),
        ("A4.b", "Data location and hosting"),
        ("E2.a", "Support and end-of-life notice"),
    ],
)
def test_policing_supplier_topics_beyond_caf_are_covered(outcome_id: str, topic: str) -> None:
    outcome = shipped_library().latest("ptsbd").framework.outcome(outcome_id)
    assert outcome.title.lower().startswith(topic.lower())


def test_automated_checks_feed_the_outcomes_they_evidence() -> None:
    links = shipped_library().latest("ptsbd").finding_links
    assert "C3.b" in links.outcomes_for_kind("tls")
    assert "C3.b" in links.outcomes_for_kind("ssh")
    assert "B4.a" in links.outcomes_for_kind("api")
    assert "C3.a" in links.outcomes_for_kind("cbom")
    assert "C3.d" in links.outcomes_for_kind("tls")


def test_profiles_scope_outcomes_by_audience() -> None:
    loaded = shipped_library().latest("ptsbd")
    framework = loaded.framework
    force = loaded.profiles["force-baseline"]
    on_prem = loaded.profiles["supplier-on-premises"]
    supplier_only = framework.outcome("B2.a")
    assert supplier_only.audience is Audience.SUPPLIER
    assert force.target_for(supplier_only) is None
    assert on_prem.target_for(framework.outcome("A4.b")) is None
    assert on_prem.target_for(supplier_only) is Level.ACHIEVED
    assert force.target_for(framework.outcome("C4.a")) is Level.PARTIALLY_ACHIEVED


@pytest.mark.parametrize(
    ("catalogue_id", "count", "first", "last"),
    [
        ("ncsc-caf-4.0", 41, "A1.a", "D2.b"),
        ("uk-software-security-cop-1.0", 14, "1.1", "4.3"),
        ("cyber-essentials-3.2", 22, "scope-overview", "anti-malware-or-allow-listing"),
        ("cyber-essentials-3.3", 23, "scope-overview", "anti-malware-or-allow-listing"),
        ("cisa-sbd-pledge-2024", 7, "G1", "G7"),
        ("nist-ssdf-1.1", 19, "PO.1", "RV.3"),
        ("owasp-api-top10-2023", 10, "API1:2023", "API10:2023"),
        ("hmg-secure-by-design-1.0", 10, "P1", "P10"),
    ],
)
def test_upstream_catalogues_hold_their_elements(
    catalogue_id: str, count: int, first: str, last: str
) -> None:
    catalogue = shipped_library().catalogues[catalogue_id]
    ids = catalogue.item_ids()
    assert (len(ids), ids[0], ids[-1]) == (count, first, last)
    assert catalogue.publisher
    assert catalogue.licence
    assert catalogue.version


@pytest.mark.parametrize("catalogue_id", ["ncsc-caf-4.0", "uk-software-security-cop-1.0"])
def test_every_caf_outcome_and_code_principle_is_accounted_for(catalogue_id: str) -> None:
    library = shipped_library()
    catalogue = library.catalogues[catalogue_id]
    crosswalk = library.crosswalk_for(library.latest("ptsbd"), catalogue_id)
    rows = coverage(crosswalk, [(i.id, i.title) for i in catalogue.items()], library.coverage_rules)
    assert [r.target_id for r in rows if r.status is CoverageStatus.MISSING] == []
    for row in rows:
        if row.status is CoverageStatus.UNMAPPED:
            assert len(row.rationale) > 20, f"{row.target_id} needs a reason"


def test_caf_coverage_counts() -> None:
    library = shipped_library()
    catalogue = library.catalogues["ncsc-caf-4.0"]
    crosswalk = library.crosswalk_for(library.latest("ptsbd"), "ncsc-caf-4.0")
    rows = coverage(crosswalk, [(i.id, i.title) for i in catalogue.items()], library.coverage_rules)
    statuses = {row.target_id: row.status for row in rows}
    assert statuses["B5.c"] is CoverageStatus.MAPPED  # equal, strength 9
    assert statuses["A2.b"] is CoverageStatus.PARTIAL  # intersects-with only
    assert statuses["B6.a"] is CoverageStatus.UNMAPPED  # explicit no-relationship
    # CAF 4.0 threat hunting and threat intelligence have no PTSbD counterpart.
    assert statuses["C1.f"] is CoverageStatus.UNMAPPED
    assert statuses["C2.a"] is CoverageStatus.UNMAPPED
    assert "C2.b" not in statuses  # CAF 3.2's proactive discovery is gone in 4.0
    counts = {status: list(statuses.values()).count(status) for status in CoverageStatus}
    assert counts == {
        CoverageStatus.MAPPED: 15,
        CoverageStatus.PARTIAL: 23,
        CoverageStatus.UNMAPPED: 3,
        CoverageStatus.MISSING: 0,
    }


def test_caf_is_shipped_as_an_assessable_framework_not_an_upstream_file() -> None:
    library = shipped_library()
    caf = library.latest("ncsc-caf")
    assert caf.framework.version == "4.0"
    assert len(caf.framework.outcomes()) == 41
    assert sorted(caf.profiles) == ["caf-baseline", "caf-enhanced"]
    assert caf.scoring.framework_id == "ncsc-caf"
    assert library.catalogues["ncsc-caf-4.0"].item_ids() == [o.id for o in caf.framework.outcomes()]
    assert not any(
        path.name == "ncsc-caf-4.0.yaml" for path in library.files if "upstream" in path.parts
    )
