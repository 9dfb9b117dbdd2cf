"""A CBOM's own nistQuantumSecurityLevel is the supplier's claim: the algorithm policy decides
for every algorithm it knows, a claim that contradicts it is a finding of its own, and a claim is
used only for an algorithm the policy does not know, marked as the supplier's."""

from __future__ import annotations

from checks.catalogue.cbom import console_lines
from tests.checks.cbom_cases import (
    HANDWRITTEN,
    assets_by_name,
    codes,
    finding_evidence,
    milestone,
    run,
)


def test_rsa_2048_claiming_level_3_stays_quantum_vulnerable_and_the_claim_is_a_finding() -> None:
    report = run(HANDWRITTEN / "rsa2048-claims-level-3.cdx.json")
    rsa = assets_by_name(report)["RSA-2048"]
    assert rsa["class"] == "quantum-vulnerable"
    assert rsa["algorithm"] == "RSA"
    assert (rsa["claimed_level"], rsa["claim"]) == (3, "contradicts")
    assert "nistQuantumSecurityLevel" not in rsa["basis"]
    contradiction = finding_evidence(report, "CBOM-006")["contradictions"]
    assert contradiction == [
        {
            "asset": "RSA-2048",
            "claimed_level": 3,
            "catalogue": "quantum-vulnerable",
            "nist_category": None,
            "algorithm": "RSA",
        }
    ]
    assert "CBOM-002" in codes(report)
    assert "CBOM-005" not in codes(report)
    assert milestone(report, "ncsc-2028") != "met"


def test_md5_claiming_level_1_is_classically_broken_and_the_claim_is_a_finding() -> None:
    report = run(HANDWRITTEN / "md5-claims-level-1.cdx.json")
    md5 = assets_by_name(report)["MD5"]
    assert (md5["class"], md5["algorithm"], md5["claim"]) == (
        "classically-broken",
        "MD5",
        "contradicts",
    )
    assert finding_evidence(report, "CBOM-001")["assets"] == ["MD5"]
    assert finding_evidence(report, "CBOM-006")["contradictions"][0]["catalogue"] == (
        "classically-broken"
    )


def test_claims_the_policy_agrees_with_overstated_understated_and_unjudgeable() -> None:
    report = run(HANDWRITTEN / "supplier-claims.cdx.json")
    assets = assets_by_name(report)
    # ML-KEM-768 is NIST category 3, as claimed.
    assert (assets["ML-KEM-768"]["class"], assets["ML-KEM-768"]["claim"]) == (
        "quantum-safe",
        "agrees",
    )
    # ML-DSA-44 is category 2, not 5: quantum-safe all the same, but the inventory is wrong.
    assert (assets["ML-DSA-44"]["class"], assets["ML-DSA-44"]["claim"]) == (
        "quantum-safe",
        "contradicts",
    )
    # AES-256 is not quantum-vulnerable, whatever the CBOM says.
    assert (assets["AES-256-GCM"]["class"], assets["AES-256-GCM"]["claim"]) == (
        "quantum-safe",
        "contradicts",
    )
    # The policy does not know Camellia: the claim is all there is, and it says so.
    camellia = assets["Camellia-256-GCM"]
    assert (camellia["class"], camellia["claim"]) == ("quantum-safe", "supplier-claim")
    assert "supplier" in camellia["basis"]
    assert finding_evidence(report, "CBOM-008")["assets"] == ["Camellia-256-GCM"]
    wrong = {c["asset"]: c for c in finding_evidence(report, "CBOM-006")["contradictions"]}
    assert set(wrong) == {"ML-DSA-44", "AES-256-GCM"}
    assert (wrong["ML-DSA-44"]["claimed_level"], wrong["ML-DSA-44"]["nist_category"]) == (5, 2)
    assert "ML-DSA-44: claims level 5; the policy: quantum-safe, NIST category 2" in (
        console_lines(report)
    )


def test_claims_in_the_cyclonedx_examples_agree_with_the_policy() -> None:
    """Their levels are right or understated (AES-256 as 1): no contradiction to report."""
    for name in ("CBOM_Algorithm_bom.json", "CBOM_Key_bom.json", "CBOM_Protocol_bom.json"):
        report = run(HANDWRITTEN.parent / name)
        assert "CBOM-006" not in codes(report), name
        claimed = [a for a in report.details["assets"] if a["claimed_level"] is not None]
        assert claimed, name
        assert {a["claim"] for a in claimed} == {"agrees"}, name
