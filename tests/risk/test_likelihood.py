"""Suggested likelihood: the baseline moved by each rule some evidence matches, once per rule,
held to the scale, the same whatever order the evidence comes in, and explained in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.findings import Severity
from frameworks.loader import FrameworkDataError
from frameworks.risk.likelihood import (
    EvidenceItem,
    EvidenceKind,
    LikelihoodRules,
    suggest,
)
from frameworks.risk.matrix import RiskMatrix
from frameworks.risk.policy import RISK_DATA, load_risk_policy, risk_policy


def _item(kind: str, ref: str, severity: str | None = None, critical: bool = False) -> EvidenceItem:
    return EvidenceItem(
        kind=EvidenceKind(kind),
        ref=ref,
        label=f"evidence {ref}",
        severity=Severity(severity) if severity else None,
        critical_outcome=critical,
    )


def _rules(baseline: str, rules: list[dict[str, Any]]) -> LikelihoodRules:
    return LikelihoodRules.model_validate(
        {"version": "1.0", "matrix": "1.0", "baseline": baseline, "rules": rules}
    )


def _rule(rule_id: str, steps: int, kinds: list[str], **when: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "steps": steps,
        "reason": rule_id.lower(),
        "when": {"kinds": kinds, **when},
    }


@pytest.fixture
def matrix() -> RiskMatrix:
    return risk_policy().matrix


def test_no_evidence_suggests_the_baseline() -> None:
    suggestion = risk_policy().suggest([])
    assert suggestion.likelihood == "unlikely"
    assert suggestion.because == ()
    assert suggestion.explain() == "unlikely: the baseline; no evidence matched a rule"


def test_a_contradicted_claim_raises_one_step() -> None:
    suggestion = risk_policy().suggest([_item("contradicted_claim", "claim:4")])
    assert suggestion.likelihood == "possible"
    assert [(m.rule_id, m.steps, m.refs) for m in suggestion.because] == [
        ("LIK-CONTRADICTED-CLAIM", 1, ("claim:4",))
    ]
    assert suggestion.explain() == (
        "possible: unlikely raised one step because a claim made in the self-assessment is "
        "contradicted by evidence (claim:4)"
    )


def test_a_gap_on_a_critical_outcome_raises_and_a_gap_elsewhere_does_not() -> None:
    policy = risk_policy()
    assert policy.suggest([_item("framework_gap", "gap:SBD-1", critical=False)]).likelihood == (
        "unlikely"
    )
    assert policy.suggest([_item("framework_gap", "gap:SBD-1", critical=True)]).likelihood == (
        "possible"
    )


def test_a_medium_finding_does_not_raise_and_a_high_one_does() -> None:
    policy = risk_policy()
    assert policy.suggest([_item("finding", "finding:1", "medium")]).likelihood == "unlikely"
    assert policy.suggest([_item("finding", "finding:1", "high")]).likelihood == "possible"
    # A severity threshold needs a known severity: unknown does not pass as serious.
    assert policy.suggest([_item("finding", "finding:1")]).likelihood == "unlikely"


def test_a_critical_finding_raises_two_steps_through_two_rules() -> None:
    suggestion = risk_policy().suggest([_item("finding", "finding:9", "critical")])
    assert suggestion.likelihood == "likely"
    assert [m.rule_id for m in suggestion.because] == [
        "LIK-SERIOUS-FINDING",
        "LIK-CRITICAL-FINDING",
    ]


def test_a_rule_counts_once_however_many_items_match() -> None:
    findings = [_item("finding", f"finding:{n}", "high") for n in (12, 2, 30, 7, 5, 1, 100)]
    suggestion = risk_policy().suggest(findings)
    assert suggestion.likelihood == "possible"
    (matched,) = suggestion.because
    assert matched.refs == tuple(f"finding:{n}" for n in (1, 2, 5, 7, 12, 30, 100))
    assert "(finding:1, finding:2, finding:5, finding:7, finding:12 and 2 more)" in (
        suggestion.explain()
    )


def test_the_same_item_twice_is_named_once() -> None:
    item = _item("alert", "alert:3", "high")
    (matched,) = risk_policy().suggest([item, item]).because
    assert matched.refs == ("alert:3",)


def test_held_at_the_top_of_the_scale() -> None:
    evidence = [
        _item("framework_gap", "gap:A1", critical=True),
        _item("contradicted_claim", "claim:4"),
        _item("finding", "finding:12", "critical"),
        _item("alert", "alert:1", "critical"),
    ]
    suggestion = risk_policy().suggest(evidence)
    assert suggestion.likelihood == "almost-certain"
    assert (suggestion.net_steps, suggestion.moved_steps, suggestion.clamped) == (5, 3, True)
    assert suggestion.explain().startswith("almost-certain: unlikely raised three steps because")
    assert suggestion.explain().endswith("; the rules add +5, held at the top of the scale")


def test_held_at_the_bottom_of_the_scale(matrix: RiskMatrix) -> None:
    rules = _rules(
        "unlikely",
        [_rule("LIK-INFO-ONLY", -2, ["finding"]), _rule("LIK-QUIET", -2, ["alert"])],
    )
    suggestion = suggest(rules, matrix, [_item("finding", "f:1"), _item("alert", "a:1")])
    assert suggestion.likelihood == "rare"
    assert (suggestion.net_steps, suggestion.moved_steps) == (-4, -1)
    assert suggestion.explain().endswith("held at the bottom of the scale")


def test_rules_that_cancel_leave_the_baseline_and_show_their_signs(matrix: RiskMatrix) -> None:
    rules = _rules(
        "possible",
        [_rule("LIK-UP", 1, ["finding"]), _rule("LIK-DOWN", -1, ["alert"])],
    )
    suggestion = suggest(rules, matrix, [_item("alert", "alert:2"), _item("finding", "f:1")])
    assert suggestion.likelihood == "possible"
    assert suggestion.explain() == (
        "possible: possible unchanged because lik-up (f:1, +1); lik-down (alert:2, -1)"
    )


def _evidence() -> st.SearchStrategy[EvidenceItem]:
    return st.builds(
        _item,
        kind=st.sampled_from([kind.value for kind in EvidenceKind]),
        ref=st.integers(min_value=0, max_value=40).map(lambda n: f"item:{n}"),
        severity=st.none() | st.sampled_from([s.value for s in Severity]),
        critical=st.booleans(),
    )


@settings(max_examples=200, deadline=None)
@given(evidence=st.lists(_evidence(), max_size=25), seed=st.randoms(use_true_random=False))
def test_the_same_evidence_in_any_order_gives_the_same_suggestion(
    evidence: list[EvidenceItem], seed: Any
) -> None:
    shuffled = list(evidence)
    seed.shuffle(shuffled)
    policy = risk_policy()
    first, second = policy.suggest(evidence), policy.suggest(shuffled)
    assert first == second
    assert first.explain() == second.explain()
    assert first.likelihood in policy.matrix.likelihood_ids()
    assert [m.rule_id for m in first.because] == [
        rule.id
        for rule in policy.likelihood_rules.rules
        if rule.id in {m.rule_id for m in first.because}
    ]


def _folder_with_rules(folder: Path, document: Any) -> Path:
    for path in RISK_DATA.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    rules_file = folder / "likelihood-1.0.yaml"
    rules_file.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return rules_file


def _document() -> dict[str, Any]:
    return yaml.safe_load((RISK_DATA / "likelihood-1.0.yaml").read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "location", "problem"),
    [
        ({"baseline": "sometimes"}, "baseline", "sometimes is not a likelihood level"),
        ({"matrix": "9.9"}, "matrix", "rules are for matrix 9.9, not 1.0"),
    ],
)
def test_rules_that_disagree_with_the_matrix_are_refused(
    tmp_path: Path, change: dict[str, str], location: str, problem: str
) -> None:
    rules_file = _folder_with_rules(tmp_path, _document() | change)
    with pytest.raises(FrameworkDataError) as caught:
        load_risk_policy(tmp_path)
    assert (caught.value.path, caught.value.location) == (rules_file, location)
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("field", "value", "location"),
    [
        ("steps", 0, "rules[1](LIK-CONTRADICTED-CLAIM).steps"),
        ("steps", 3, "rules[1](LIK-CONTRADICTED-CLAIM).steps"),
        ("steps", -3, "rules[1](LIK-CONTRADICTED-CLAIM).steps"),
        ("steps", "1", "rules[1](LIK-CONTRADICTED-CLAIM).steps"),
        ("steps", True, "rules[1](LIK-CONTRADICTED-CLAIM).steps"),
        ("id", "lik-lower-case", "rules[1](lik-lower-case).id"),
        ("reason", "", "rules[1](LIK-CONTRADICTED-CLAIM).reason"),
        ("when", {"kinds": []}, "rules[1](LIK-CONTRADICTED-CLAIM).when.kinds"),
        ("when", {"kinds": ["rumour"]}, "rules[1](LIK-CONTRADICTED-CLAIM).when.kinds[0]"),
        (
            "when",
            {"kinds": ["finding"], "severity_at_least": "severe"},
            "rules[1](LIK-CONTRADICTED-CLAIM).when.severity_at_least",
        ),
        ("when", {"kinds": ["alert", "alert"]}, "rules[1](LIK-CONTRADICTED-CLAIM).when.kinds"),
    ],
)
def test_a_bad_rule_is_refused_at_its_place(
    tmp_path: Path, field: str, value: Any, location: str
) -> None:
    document = _document()
    document["rules"][1][field] = value
    rules_file = _folder_with_rules(tmp_path, document)
    with pytest.raises(FrameworkDataError) as caught:
        load_risk_policy(tmp_path)
    assert (caught.value.path, caught.value.location) == (rules_file, location)


def test_a_rule_id_used_twice_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["rules"][2]["id"] = document["rules"][0]["id"]
    _folder_with_rules(tmp_path, document)
    with pytest.raises(FrameworkDataError, match="duplicate id LIK-CRITICAL-GAP"):
        load_risk_policy(tmp_path)


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "rumour"), ("ref", "finding 12"), ("ref", ""), ("severity", "grave"), ("label", "")],
)
def test_a_malformed_evidence_item_is_refused(field: str, value: str) -> None:
    data = {"kind": "finding", "ref": "finding:12", "label": "TLS 1.0 enabled", field: value}
    with pytest.raises(ValueError, match=field):
        EvidenceItem.model_validate(data)
