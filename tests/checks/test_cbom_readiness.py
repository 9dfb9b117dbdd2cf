"""A CBOM's readiness reflects what the inventory holds, not that it was written: quantum-
vulnerable public-key assets with no post-quantum counterpart, broken algorithms and assets
nobody can classify lower it, by the rules in checks/data/cbom.yaml, and a document with no
cryptographic asset is not assessable."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from checks import cbom_assets, cbom_policy
from checks.cbom_policy import CbomPolicy
from checks.report import ReportStatus
from tests.checks.cbom_cases import (
    CBOMS,
    HANDWRITTEN,
    assets_by_name,
    codes,
    finding_evidence,
    milestone,
    run,
)

FOUR_VULNERABLE = HANDWRITTEN / "four-quantum-vulnerable.cdx.json"
COUNTERPARTS = HANDWRITTEN / "post-quantum-counterparts.cdx.json"
IN_USE = HANDWRITTEN / "post-quantum-counterparts-in-use.cdx.json"
MD5 = HANDWRITTEN / "md5-claims-level-1.cdx.json"


def test_four_quantum_vulnerable_assets_and_nothing_post_quantum_score_low() -> None:
    report = run(FOUR_VULNERABLE)
    assert report.score == 20.0  # 80 points lost: every public-key asset is unmigrated
    assert milestone(report, "ncsc-2028") == "not met"
    readiness = report.details["readiness"]
    assert (readiness["public_key"], readiness["unmigrated"], readiness["migrating"]) == (4, 4, 0)
    assert readiness["confidence"] == 100.0
    alone = finding_evidence(report, "CBOM-002")["without_counterpart"]
    assert alone == ["Ed25519", "RSA-3072", "SHA256withECDSA", "X25519"]
    uses = {name: asset["use"] for name, asset in assets_by_name(report).items()}
    assert uses == {
        "RSA-3072": "signature",
        "SHA256withECDSA": "signature",
        "X25519": "key-establishment",
        "Ed25519": "signature",
    }


def test_classical_assets_beside_post_quantum_counterparts_in_use_meet_2028() -> None:
    report = run(IN_USE)
    readiness = report.details["readiness"]
    # X25519 and its protocol, Ed25519 and its certificate: both uses have a counterpart.
    assert (readiness["public_key"], readiness["unmigrated"], readiness["migrating"]) == (7, 0, 4)
    assert report.score == 90.0  # migrating_public_key's 10 points
    assert milestone(report, "ncsc-2028") == "met"
    assert finding_evidence(report, "CBOM-002")["without_counterpart"] == []


def test_counterparts_nothing_uses_are_not_counterparts() -> None:
    # The same algorithms as a bare list: ML-KEM listed is not ML-KEM deployed.
    report = run(COUNTERPARTS)
    readiness = report.details["readiness"]
    assert (readiness["unmigrated"], readiness["migrating"]) == (2, 0)
    assert readiness["unmigrated_uses"] == ["key-establishment", "signature"]
    assert report.score == 20.0
    assert milestone(report, "ncsc-2028") == "not met"


def test_md5_alone_is_a_finding_and_caps_the_score() -> None:
    report = run(MD5)
    assert "CBOM-001" in codes(report)
    # One asset, broken: all 60 of the broken rule's points, which is also the cap.
    assert report.details["readiness"]["points_lost"]["broken"] == 60.0
    assert sum(report.details["readiness"]["points_lost"].values()) == 60.0
    assert report.score == 40.0
    assert milestone(report, "ncsc-2028") == "not met"


def test_an_sbom_with_no_cryptographic_asset_is_not_assessable() -> None:
    report = run(HANDWRITTEN / "sbom-without-crypto.cdx.json")
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert report.score is None
    assert report.milestones == []
    assert finding_evidence(report, "CBOM-007") == {"components": 6}
    assert report.details["assets"] == []
    assert report.details["readiness"] is None


def test_unknown_assets_lower_the_confidence_and_the_score() -> None:
    report = run(CBOMS / "cbomkit_kafka-cbom.json")
    readiness = report.details["readiness"]
    assert (readiness["assets"], readiness["unknown"], readiness["broken"]) == (11, 2, 2)
    assert readiness["confidence"] == pytest.approx(100 * 9 / 11, abs=0.1)
    assert readiness["points_lost"]["unknown"] == 20.0  # unknown_each for each of the two
    assert "CBOM-003" in codes(report)
    assert report.score == 0.0


def _shipped() -> dict[str, Any]:
    return yaml.safe_load((resources.files("checks") / "data" / "cbom.yaml").read_text())


def _only(monkeypatch: pytest.MonkeyPatch, **points: float) -> None:
    """Every rule at 0 and no cap, but those given."""
    data = _shipped()
    no_caps = {"broken_cap": 100, "unmigrated_cap": 100}
    data["readiness"] = {**dict.fromkeys(data["readiness"], 0), **no_caps, **points}
    policy = CbomPolicy.model_validate(data)
    monkeypatch.setattr(cbom_policy, "cbom_policy", lambda: policy)
    monkeypatch.setattr(cbom_assets, "cbom_policy", lambda: policy)


@pytest.mark.parametrize(
    ("points", "fixture", "lost"),
    [
        # Both uses exposed, neither with a counterpart in use.
        ({"unmigrated_public_key": 30}, "four-quantum-vulnerable.cdx.json", 30),
        ({"migrating_public_key": 30}, "post-quantum-counterparts-in-use.cdx.json", 30),
        # SHA1, RSA-1024, DSA (the key reaches DSA too: one algorithm); RAW and its key.
        ({"broken_each": 5, "broken": 100}, "cbomkit-names.cdx.json", 5 * 3),
        ({"broken_each": 5, "broken": 7}, "cbomkit-names.cdx.json", 7),
        ({"unknown_each": 5, "unknown": 100}, "cbomkit-names.cdx.json", 5 * 2),
        ({"unknown_each": 5, "unknown": 6}, "cbomkit-names.cdx.json", 6),
        ({"supplier_claim_each": 5, "supplier_claim": 100}, "supplier-claims.cdx.json", 5),
        ({"supplier_claim_each": 5, "supplier_claim": 2}, "supplier-claims.cdx.json", 2),
    ],
)
def test_each_rule_takes_its_points(monkeypatch, points, fixture, lost) -> None:
    _only(monkeypatch)
    assert run(HANDWRITTEN / fixture).score == 100.0
    _only(monkeypatch, **points)
    assert run(HANDWRITTEN / fixture).score == pytest.approx(100 - lost, abs=0.1)


def test_the_unmigrated_cap_bounds_an_inventory_with_a_use_lacking_a_counterpart(
    monkeypatch,
) -> None:
    _only(monkeypatch, unmigrated_cap=45)
    capped = run(FOUR_VULNERABLE)
    assert capped.score == 45.0
    assert capped.details["readiness"]["capped_at"] == 45.0
    assert run(IN_USE).score == 100.0


def test_the_shipped_unmigrated_cap_is_below_the_2028_threshold() -> None:
    from checks.readiness import readiness_policy

    threshold = readiness_policy().milestones["ncsc-2028"]["inventory"]
    assert _shipped()["readiness"]["unmigrated_cap"] < threshold


def test_the_broken_cap_bounds_an_inventory_with_a_broken_asset(monkeypatch) -> None:
    _only(monkeypatch, broken_cap=55)
    capped = run(MD5)
    assert capped.score == 55.0
    assert capped.details["readiness"]["capped_at"] == 55.0
    assert run(IN_USE).score == 100.0  # nothing broken, nothing capped


def test_a_placeholders_reason_is_the_unknown_assets_basis(monkeypatch) -> None:
    data = _shipped()
    data["placeholders"] = {"raw": "decided by the code that uses the key"}
    policy = CbomPolicy.model_validate(data)
    monkeypatch.setattr(cbom_assets, "cbom_policy", lambda: policy)
    raw = assets_by_name(run(HANDWRITTEN / "cbomkit-names.cdx.json"))["RAW"]
    assert raw["basis"] == "name 'RAW': decided by the code that uses the key"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unknwn": 100}, "Extra inputs are not permitted"),
        ({"broken": -1}, "greater than or equal to 0"),
        ({"broken_cap": 140}, "less than or equal to 100"),
    ],
)
def test_a_mistake_in_cbom_yaml_fails_when_it_is_read(change: dict, message: str) -> None:
    data = _shipped()
    data["readiness"] = {**data["readiness"], **change}
    with pytest.raises(ValidationError, match=message):
        CbomPolicy.model_validate(data)
