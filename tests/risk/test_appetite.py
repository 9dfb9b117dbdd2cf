"""Risk appetite: what each classification tolerates, how long an acceptance may run, and an
appetite file that misses a tier or lets a worse risk be accepted for longer refused by place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from frameworks.deployment_facts import SecurityClassification
from frameworks.loader import FrameworkDataError
from frameworks.risk.appetite import AppetiteStatement, RiskAppetite
from frameworks.risk.matrix import RiskDataMismatch, RiskMatrix, UnknownRiskId
from frameworks.risk.policy import RISK_DATA, load_risk_policy, read_risk_file, risk_policy

OFFICIAL = SecurityClassification.OFFICIAL
SECRET = SecurityClassification.SECRET
TOP_SECRET = SecurityClassification.TOP_SECRET


@pytest.fixture
def matrix() -> RiskMatrix:
    return read_risk_file(RISK_DATA / "matrix-1.0.yaml", RiskMatrix)


def _document() -> dict[str, Any]:
    return yaml.safe_load((RISK_DATA / "appetite-1.0.yaml").read_text("utf-8"))


def _refusal(folder: Path, document: Any) -> FrameworkDataError:
    """Load a policy whose appetite file is `document` and the shipped others; it must fail."""
    for path in RISK_DATA.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    appetite_file = folder / "appetite-1.0.yaml"
    appetite_file.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    with pytest.raises(FrameworkDataError) as caught:
        load_risk_policy(folder)
    assert caught.value.path == appetite_file
    return caught.value


def test_the_shipped_appetite_per_tier() -> None:
    appetite = risk_policy().appetite
    assert appetite.appetite_for(OFFICIAL).id == "medium"
    assert appetite.appetite_for(OFFICIAL, sensitive_caveat=True).id == "low"
    assert appetite.appetite_for(SECRET).id == "very-low"
    assert appetite.appetite_for(TOP_SECRET).id == "very-low"


def test_an_unknown_classification_tolerates_only_what_the_strictest_tier_does() -> None:
    appetite = risk_policy().appetite
    assert appetite.appetite_for(None) == appetite.appetite_for(TOP_SECRET)
    assert appetite.appetite_for(None, sensitive_caveat=True).id == "very-low"
    assert appetite.tolerated("very-low", None)
    assert not appetite.tolerated("low", None)


def test_the_caveat_is_stricter_than_official_alone() -> None:
    appetite = risk_policy().appetite
    assert appetite.tolerated("medium", OFFICIAL, sensitive_caveat=False)
    assert not appetite.tolerated("medium", OFFICIAL, sensitive_caveat=True)
    assert appetite.tolerated("low", OFFICIAL, sensitive_caveat=True)


def test_secret_tolerates_only_very_low() -> None:
    appetite = risk_policy().appetite
    assert appetite.tolerated("very-low", SECRET)
    assert not appetite.tolerated("low", SECRET)
    assert not appetite.tolerated("low", TOP_SECRET)


def test_the_caveat_on_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="SENSITIVE caveat applies to OFFICIAL only"):
        risk_policy().appetite.tolerated("low", SECRET, sensitive_caveat=True)


def test_an_unknown_level_is_refused_not_tolerated() -> None:
    with pytest.raises(UnknownRiskId, match="'amber' is not a risk level"):
        risk_policy().appetite.tolerated("amber", OFFICIAL)


def test_max_acceptance_days_per_level() -> None:
    appetite = risk_policy().appetite
    days = {level.id: appetite.max_acceptance_days(level.id) for level in appetite.matrix.levels}
    assert days == {"very-low": 730, "low": 365, "medium": 180, "high": 90, "very-high": 30}


def test_an_appetite_that_misses_a_tier_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"] = [t for t in document["tiers"] if t["classification"] != "top-secret"]
    error = _refusal(tmp_path, document)
    assert "tiers: no entry for TOP SECRET" in str(error)


def test_an_appetite_without_the_caveat_entry_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"] = [t for t in document["tiers"] if not t.get("sensitive_caveat")]
    error = _refusal(tmp_path, document)
    assert "tiers: no entry for OFFICIAL with the SENSITIVE caveat" in str(error)


def test_a_tier_written_twice_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"][3] = dict(document["tiers"][2])
    error = _refusal(tmp_path, document)
    assert "tiers[3]: a second entry for SECRET" in str(error)


def test_the_caveat_on_a_secret_tier_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"][2]["sensitive_caveat"] = True
    error = _refusal(tmp_path, document)
    assert "SENSITIVE caveat applies to OFFICIAL only, not SECRET" in str(error)
    assert error.location == "tiers[2]"


def test_days_increasing_with_level_are_refused(tmp_path: Path) -> None:
    document = _document()
    document["max_acceptance_days"]["high"] = 200
    error = _refusal(tmp_path, document)
    assert error.location == "max_acceptance_days.high"
    assert "200 days is longer than the 180 for the lower level medium" in error.problem


def test_a_level_without_days_is_refused(tmp_path: Path) -> None:
    document = _document()
    del document["max_acceptance_days"]["very-high"]
    error = _refusal(tmp_path, document)
    assert "no maximum acceptance period for very-high" in str(error)


def test_days_for_an_unknown_level_are_refused(tmp_path: Path) -> None:
    document = _document()
    document["max_acceptance_days"]["amber"] = 10
    error = _refusal(tmp_path, document)
    assert error.location == "max_acceptance_days.amber"


@pytest.mark.parametrize("days", [0, -30, 1096, "30", 30.5, True, None])
def test_days_out_of_range_or_not_a_whole_number_are_refused(tmp_path: Path, days: Any) -> None:
    document = _document()
    document["max_acceptance_days"]["very-high"] = days
    assert _refusal(tmp_path, document).location == "max_acceptance_days.very-high"


def test_an_unknown_tolerated_level_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"][0]["highest_tolerated"] = "amber"
    error = _refusal(tmp_path, document)
    assert error.location == "tiers[0].highest_tolerated"
    assert "amber is not a risk level of matrix 1.0" in error.problem


def test_a_higher_tier_more_tolerant_than_a_lower_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"][3]["highest_tolerated"] = "high"
    error = _refusal(tmp_path, document)
    assert error.location == "tiers[3].highest_tolerated"
    assert "TOP SECRET tolerates more risk than SECRET" in error.problem


def test_an_appetite_for_another_matrix_version_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["matrix"] = "2.0"
    error = _refusal(tmp_path, document)
    assert error.location == "matrix"
    assert "appetite is for matrix 2.0, not 1.0" in error.problem


def test_an_unknown_classification_in_the_file_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["tiers"][2]["classification"] = "confidential"
    assert _refusal(tmp_path, document).location == "tiers[2].classification"


def test_a_statement_checked_against_a_matrix_directly(matrix: RiskMatrix) -> None:
    document = _document()
    document["max_acceptance_days"]["low"] = 800
    statement = AppetiteStatement.model_validate(document)
    with pytest.raises(RiskDataMismatch, match="800 days is longer than the 730"):
        RiskAppetite(statement, matrix)


def test_max_exception_days_by_criticality() -> None:
    appetite = risk_policy().appetite
    assert appetite.max_exception_days(critical=True) == 90
    assert appetite.max_exception_days(critical=False) == 180


def test_a_critical_exception_longer_than_another_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["max_exception_days"] = {"critical": 200, "other": 180}
    error = _refusal(tmp_path, document)
    assert error.location == "max_exception_days"
    assert "200 days is longer than the 180 for other outcomes" in error.problem


def test_an_appetite_without_exception_limits_is_refused(tmp_path: Path) -> None:
    document = _document()
    del document["max_exception_days"]
    assert _refusal(tmp_path, document).location == "max_exception_days"


@pytest.mark.parametrize("days", [0, -1, 1096, "90", 90.5, True, None])
def test_exception_days_out_of_range_are_refused(tmp_path: Path, days: Any) -> None:
    document = _document()
    document["max_exception_days"]["critical"] = days
    assert _refusal(tmp_path, document).location == "max_exception_days.critical"


def test_an_unknown_exception_limit_is_refused(tmp_path: Path) -> None:
    document = _document()
    document["max_exception_days"]["severe"] = 30
    assert _refusal(tmp_path, document).location == "max_exception_days.severe"
