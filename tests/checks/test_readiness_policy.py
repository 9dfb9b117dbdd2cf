"""checks/data/readiness.yaml is read through a schema, and each of its fields moves the readiness
score or the milestone view the way it says: change it in a copy and the result follows."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from checks import readiness
from checks.readiness import ReadinessPart, ReadinessPolicy
from pq_crypto.catalogue import AlgorithmClass, Classification, rsa_classification

TODAY = date(2026, 11, 26)


def _shipped() -> dict[str, Any]:
    return yaml.safe_load((resources.files("checks") / "data" / "readiness.yaml").read_text())


def _policy(**changes: Any) -> ReadinessPolicy:
    data = _shipped()
    for key, value in changes.items():
        data[key] = {**data[key], **value}
    return ReadinessPolicy.model_validate(data)


def _use(monkeypatch: pytest.MonkeyPatch, policy: ReadinessPolicy) -> None:
    monkeypatch.setattr(readiness, "readiness_policy", lambda: policy)


def test_only_parts_a_check_computes_are_weighed() -> None:
    # A migration plan is not observable by a check (it is framework outcome C3.c), so it has no
    # weight here: a weight nothing produces would only pretend to count.
    assert set(readiness.readiness_policy().weights) == set(ReadinessPart)
    with pytest.raises(ValidationError, match=r"weights\.migration_plan"):
        _policy(weights={"migration_plan": 15})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key_exchange": {"pq_prefered": 100}}, "Extra inputs are not permitted"),
        ({"signatures": {"broken": -5}}, "greater than or equal to 0"),
        ({"weights": {"inventory": 0}}, "weighs more than 0"),
        ({"milestones": {"ncsc-2029": {"inventory": 90}}}, "not milestones of the algorithm"),
        ({"milestones": {"ncsc-2028": {"inventry": 90}}}, "Input should be"),
    ],
)
def test_a_mistake_in_readiness_yaml_fails_when_it_is_read(changes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _policy(**changes)


def test_a_weight_moves_the_score_by_the_expected_amount(monkeypatch) -> None:
    parts = {"key_exchange": 100.0, "signatures_and_certificates": 0.0}
    assert readiness.overall(parts) == pytest.approx(round(100 * 45 / 70, 1))
    _use(monkeypatch, _policy(weights={"key_exchange": 25}))
    assert readiness.overall(parts) == 50.0


def test_the_key_exchange_table_sets_each_sub_score(monkeypatch) -> None:
    assert readiness.key_exchange_score(True, False, False) == 70
    _use(monkeypatch, _policy(key_exchange={"pq_supported": 60, "none": 5}))
    assert readiness.key_exchange_score(True, False, False) == 60
    assert readiness.key_exchange_score(False, False, False) == 5


def test_the_signature_table_sets_each_sub_score(monkeypatch) -> None:
    rsa_3072 = rsa_classification(3072)
    assert readiness.signature_score([rsa_3072]) == 50
    _use(monkeypatch, _policy(signatures={"classical_128": 40}))
    assert readiness.signature_score([rsa_3072]) == 40


def test_a_milestone_threshold_decides_whether_it_is_met(monkeypatch) -> None:
    def ncsc_2028() -> str:
        views = readiness.milestone_view({"inventory": 80.0}, TODAY)
        return next(v.status for v in views if v.id == "ncsc-2028")

    assert ncsc_2028() == "not met"
    _use(monkeypatch, _policy(milestones={"ncsc-2028": {"inventory": 75}}))
    assert ncsc_2028() == "met"


def test_a_signature_the_policy_cannot_classify_earns_nothing() -> None:
    # An unknown curve or algorithm may be broken: it is credited like one, never like P-256.
    unknown = Classification(None, AlgorithmClass.UNKNOWN, basis="unknown curve brainpoolP512t1")
    p256 = Classification("ECDSA-P256", AlgorithmClass.QUANTUM_VULNERABLE, classical_bits=128)
    table = readiness.readiness_policy().signatures
    assert readiness.signature_score([p256]) == table.classical_128
    assert readiness.signature_score([unknown]) == table.unknown == 0
    assert readiness.signature_score([p256, unknown]) == 0


def test_a_vulnerable_signature_of_unknown_strength_earns_the_lower_classical_tier() -> None:
    unsized = Classification("RSA", AlgorithmClass.QUANTUM_VULNERABLE, classical_bits=None)
    assert (
        readiness.signature_score([unsized])
        == readiness.readiness_policy().signatures.classical_112
    )
