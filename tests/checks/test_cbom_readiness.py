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


def test_classical_assets_beside_their_post_quantum_counterparts_meet_2028() -> None:
    report = run(COUNTERPARTS)
    readiness = report.details["readiness"]
    assert (readiness["public_key"], readiness["unmigrated"], readiness["migrating"]) == (4, 0, 2)
    assert report.score == 95.0
    assert milestone(report, "ncsc-2028") == "met"
    assert finding_evidence(report, "CBOM-002")["without_counterpart"] == []


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
    assert readiness["points_lost"]["unknown"] == pytest.approx(100 * 2 / 11, abs=0.1)
    assert "CBOM-003" in codes(report)
    assert report.score == 0.0


def _shipped() -> dict[str, Any]:
    return yaml.safe_load((resources.files("checks") / "data" / "cbom.yaml").read_text())


def _only(monkeypatch: pytest.MonkeyPatch, **points: float) -> None:
    """Every rule at 0 and no cap, but those given."""
    data = _shipped()
    data["readiness"] = {**dict.fromkeys(data["readiness"], 0), "broken_cap": 100, **points}
    policy = CbomPolicy.model_validate(data)
    monkeypatch.setattr(cbom_policy, "cbom_policy", lambda: policy)
    monkeypatch.setattr(cbom_assets, "cbom_policy", lambda: policy)


@pytest.mark.parametrize(
    ("rule", "fixture", "share"),
    [
        ("unmigrated_public_key", "four-quantum-vulnerable.cdx.json", 4 / 4),
        ("migrating_public_key", "post-quantum-counterparts.cdx.json", 2 / 4),
        # SHA1, RSA-1024, DSA and its key; RAW and its key.
        ("broken", "cbomkit-names.cdx.json", 4 / 33),
        ("unknown", "cbomkit-names.cdx.json", 2 / 33),
        ("supplier_claim", "supplier-claims.cdx.json", 1 / 4),
    ],
)
def test_each_rule_takes_its_points_in_proportion(monkeypatch, rule, fixture, share) -> None:
    _only(monkeypatch)
    assert run(HANDWRITTEN / fixture).score == 100.0
    _only(monkeypatch, **{rule: 30})
    assert run(HANDWRITTEN / fixture).score == pytest.approx(100 - 30 * share, abs=0.1)


def test_the_broken_cap_bounds_an_inventory_with_a_broken_asset(monkeypatch) -> None:
    _only(monkeypatch, broken_cap=55)
    capped = run(MD5)
    assert capped.score == 55.0
    assert capped.details["readiness"]["capped_at"] == 55.0
    assert run(COUNTERPARTS).score == 100.0  # nothing broken, nothing capped


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
