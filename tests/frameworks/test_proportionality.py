"""Proportionality rules: broken rules are refused whole, naming the place; the shipped rules
derive the profile the facts call for, the same every time, and explain it from those facts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frameworks.deployment_facts import (
    CLASSIFICATION_RANK,
    DataLocation,
    DeploymentFacts,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
    VettingLevel,
)
from frameworks.library import validate_library
from frameworks.loader import DATA_ROOT, default_framework
from frameworks.proportionality import derive
from frameworks.schema import Audience

PROFILES = "ptsbd/profiles-1.0.yaml"
CRITICAL = "supplier-critical-national"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_ROOT, target)
    return target


def _problems_after(root: Path, old: str, new: str) -> list[str]:
    path = root / PROFILES
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    library, problems = validate_library(root)
    assert library is None, "broken rules must not load"
    return [p for p in problems if "profiles-1.0.yaml" in p and "ptsbd" in p]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "order: [supplier-on-premises, supplier-saas, supplier-critical-national]",
            "order: [supplier-on-premises, supplier-critical-national]",
            "rules[1].profile: supplier-saas is not in order",
        ),
        (
            "order: [supplier-on-premises, supplier-saas, supplier-critical-national]",
            "order: [supplier-on-premises, supplier-saas, supplier-critical-national, "
            "supplier-gold]",
            "must list exactly the supplier profiles",
        ),
        (
            "order: [supplier-on-premises, supplier-saas, supplier-critical-national]",
            "order: [supplier-on-premises, supplier-saas, supplier-saas, "
            "supplier-critical-national]",
            "listed twice",
        ),
        ("default: supplier-on-premises", "default: supplier-gold", "not in order"),
        (
            "      - profile: supplier-saas\n        when: {hosting_in: [saas, paas, hybrid]}",
            "      - profile: force-baseline\n        when: {hosting_in: [saas, paas, hybrid]}",
            "is not in order",
        ),
        ("when: {hosting_in: [on_premises]}", "when: {}", "names at least one fact"),
        ("when: {hosting_in: [on_premises]}", "when: {hosting_in: []}", "at least 1 item"),
        ("when: {hosting_in: [on_premises]}", "when: {hosting_in: [mainframe]}", "hosting_in"),
        ("when: {forces_at_least: 10}", "when: {forces_at_least: 0}", "forces_at_least"),
        ("when: {forces_at_least: 10}", "when: {forces_at_least: ten}", "forces_at_least"),
        ("when: {forces_at_least: 10}", "when: {moon_phase: full}", "moon_phase"),
        (
            "when: {classification_at_least: secret}",
            "when: {classification_at_least: official-sensitive}",
            "classification_at_least",
        ),
    ],
)
def test_broken_rules_are_refused_naming_the_place(
    data_dir: Path, old: str, new: str, said: str
) -> None:
    problems = _problems_after(data_dir, old, new)
    assert problems, "the profiles file must be named"
    assert any(said in p and "proportionality" in p for p in problems), problems


# Facts that ask for nothing more than the hosting does.
DECLARED = {
    "classification": "official",
    "vetting": "nppv2",
    "forces_served": 1,
    "records_held": 10_000,
}


def _derived(**facts: object) -> str:
    framework = default_framework()
    rules = framework.subject_rules(Audience.SUPPLIER)
    assert rules is not None
    return derive(rules, DeploymentFacts.model_validate(DECLARED | facts), "PTSbD 1.0").explain()


def _bare(**facts: object) -> str:
    framework = default_framework()
    rules = framework.subject_rules(Audience.SUPPLIER)
    assert rules is not None
    return derive(rules, DeploymentFacts.model_validate(facts), "PTSbD 1.0").explain()


def test_an_undeclared_fact_reads_as_the_most_demanding_answer_and_is_named() -> None:
    # Nothing declared but the hosting: every rule reading a missing fact holds, and the
    # explanation names each missing fact once.
    assert _bare(hosting="on_premises") == (
        f"{CRITICAL} because it does not declare the classification of the data it holds, "
        "the vetting its staff need, how many forces it serves and how many records it holds"
    )
    # A supplier-hosted product that names no location has not said where the data is; an
    # on-premises one keeps it on the force's own infrastructure.
    assert "where it holds data" in _derived(hosting="saas", data_locations=[])
    assert _derived(hosting="on_premises") == (
        "supplier-on-premises because it is installed on the force's own infrastructure"
    )
    # Each fact on its own is enough to ask for the critical profile until it is declared.
    for fact, words in (
        ("classification", "the classification of the data it holds"),
        ("vetting", "the vetting its staff need"),
        ("forces_served", "how many forces it serves"),
        ("records_held", "how many records it holds"),
    ):
        facts = {k: v for k, v in DECLARED.items() if k != fact}
        said = _bare(hosting="on_premises", **facts)
        assert said == f"{CRITICAL} because it does not declare {words}", fact
    # "No vetting needed" is a declaration, and asks for nothing.
    assert _derived(hosting="on_premises", vetting="not_needed").startswith("supplier-on-premises")
    assert DeploymentFacts(hosting="saas").undeclared() == [
        "classification",
        "data_locations",
        "vetting",
        "forces_served",
        "records_held",
    ]
    assert DeploymentFacts(hosting="on_premises", **DECLARED).undeclared() == []


def test_the_shipped_rules_explain_each_reason_from_the_facts() -> None:
    assert _derived(hosting="on_premises") == (
        "supplier-on-premises because it is installed on the force's own infrastructure"
    )
    assert _derived(hosting="on_premises", data_locations=["uk", "eea"]) == (
        "supplier-saas because it holds data in the EEA"
    )
    assert _derived(
        hosting="saas", sensitive_caveat=True, police_networks=["pnn"], data_locations=["uk"]
    ) == (f"{CRITICAL} because it connects to PNN and holds OFFICIAL with the SENSITIVE caveat")
    assert _derived(hosting="saas", classification="top-secret", data_locations=["uk"]) == (
        f"{CRITICAL} because it holds TOP SECRET"
    )
    assert _derived(
        hosting="paas",
        data_locations=["uk"],
        vetting="sc",
        forces_served=43,
        records_held=5_000_000,
    ) == (
        f"{CRITICAL} because it needs staff with SC vetting; it serves 43 forces; "
        "it holds 5,000,000 records"
    )
    # PSN alone, without the SENSITIVE caveat, asks for no more than the hosting does.
    assert _derived(hosting="saas", police_networks=["psn"], data_locations=["uk"]) == (
        "supplier-saas because it is hosted as software as a service"
    )


def test_the_sensitive_caveat_qualifies_official_only() -> None:
    with pytest.raises(ValueError, match=r"applies to OFFICIAL only, not SECRET"):
        DeploymentFacts(hosting="saas", classification="secret", sensitive_caveat=True)
    assert DeploymentFacts(hosting="saas", sensitive_caveat=True).classification_label() == (
        "OFFICIAL with the SENSITIVE caveat"
    )


def _subsets(vocabulary):  # type: ignore[no-untyped-def]
    return st.lists(st.sampled_from(list(vocabulary)), unique=True).map(tuple)


facts_strategy = st.builds(
    DeploymentFacts,
    classification=st.none() | st.sampled_from(list(SecurityClassification)),
    sensitive_caveat=st.just(False),
    hosting=st.sampled_from(list(DeploymentModel)),
    data_locations=_subsets(DataLocation),
    police_networks=_subsets(PoliceNetwork),
    national_systems=_subsets(NationalSystem),
    vetting=st.none() | st.sampled_from(list(VettingLevel)),
    forces_served=st.none() | st.integers(0, 100),
    records_held=st.none() | st.integers(0, 10**9),
)


@settings(max_examples=300, deadline=None)
@given(facts_strategy)
def test_secret_or_national_systems_always_derive_the_critical_profile(
    facts: DeploymentFacts,
) -> None:
    framework = default_framework()
    rules = framework.subject_rules(Audience.SUPPLIER)
    assert rules is not None
    first = derive(rules, facts, "PTSbD 1.0")
    assert first == derive(rules, facts.model_copy(), "PTSbD 1.0"), "same facts, same words"
    secret = CLASSIFICATION_RANK[facts.classification or SecurityClassification.OFFICIAL] >= 1
    if secret or facts.national_systems:
        assert first.profile_id == CRITICAL
        # The data location outcome is in scope for every such product.
        location = framework.framework.outcome("A4.b")
        assert framework.profiles[first.profile_id].target_for(location) is not None
    if first.profile_id == "supplier-on-premises":
        assert facts.hosting is DeploymentModel.ON_PREMISES
        assert set(facts.data_locations) <= {DataLocation.UK}


@settings(max_examples=300, deadline=None)
@given(facts_strategy, facts_strategy)
def test_declaring_a_missing_fact_never_asks_for_more(
    facts: DeploymentFacts, answers: DeploymentFacts
) -> None:
    """Unknown is read as the most demanding answer: whatever a supplier later declares for the
    facts it left out, the profile can stay or fall, never rise."""
    framework = default_framework()
    rules = framework.subject_rules(Audience.SUPPLIER)
    assert rules is not None
    completed = facts.model_copy(
        update={
            fact: getattr(answers, fact)
            for fact in facts.undeclared()
            if getattr(answers, fact) not in (None, ())
        }
    )
    before = derive(rules, facts, "PTSbD 1.0").profile_id
    after = derive(rules, completed, "PTSbD 1.0").profile_id
    assert rules.rank(after) <= rules.rank(before)
