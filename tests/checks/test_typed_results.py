"""A check's result is a frozen, typed model with a JSON schema (the JWKS check here; every kind
in test_result_models.py): the check writes its report's details through it, readers get it
back from `report.result()`, and a run an earlier release stored still reads."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from checks import catalogue
from checks.catalogue import spec_for
from checks.catalogue.jwks import JwksResult
from checks.cbom_export import build_cbom
from checks.jwks import run_jwks_check
from checks.report import CheckReport
from pq_crypto.catalogue import AlgorithmClass
from tests.checks import toy_check
from tests.peers.jwks import real_jwk

# Real keys: the check loads a key before it classifies it (a 3-byte "ML-DSA-65" key is
# malformed, not post-quantum). A number as a key id is read as text.
KEYS = {"keys": [real_jwk("mldsa65", "pq-1"), {**real_jwk("ecdsa"), "kid": 7}]}
# A JWKS run as an earlier release stored it (CheckRun.result): details written as a plain dict,
# a number as a key id, and the sandbox's cost beside the keys.
STORED = {
    "kind": "jwks",
    "target": "jwks.json",
    "started_at": "2026-10-01T09:00:00Z",
    "finished_at": "2026-10-01T09:00:01Z",
    "status": "completed",
    "score": 50.0,
    "details": {
        "keys": [
            {
                "index": 0,
                "kid": 7,
                "kty": "RSA",
                "alg": "RS256",
                "crv": None,
                "use": "sig",
                "algorithm": "RSA-2048",
                "basis": "RSA modulus of 2048 bits",
                "class": "quantum-vulnerable",
            }
        ],
        "sandbox": {"seconds": 0.4},
    },
}


def test_a_jwks_report_carries_its_typed_result_and_its_schema_describes_it() -> None:
    report = run_jwks_check(json.dumps(KEYS).encode(), "jwks.json")
    result = report.result()
    assert isinstance(result, JwksResult)
    assert [(k.label, k.algorithm_class) for k in result.keys] == [
        ("pq-1", AlgorithmClass.QUANTUM_SAFE),
        ("7", AlgorithmClass.QUANTUM_VULNERABLE),
    ]
    schema = spec_for("jwks").result.model_json_schema()  # type: ignore[union-attr]
    jsonschema.validate(report.model_dump(mode="json")["details"], schema)
    assert report.details["keys"][1]["class"] == "quantum-vulnerable"


def test_the_result_is_frozen() -> None:
    result = run_jwks_check(json.dumps(KEYS).encode(), "jwks.json").result()
    assert result is not None
    with pytest.raises(ValidationError):
        result.keys[0].kid = "changed"  # type: ignore[misc]


def test_a_run_stored_by_an_earlier_release_still_reads_and_exports() -> None:
    report = CheckReport.model_validate(STORED)
    result = report.result()
    assert isinstance(result, JwksResult)
    assert (result.keys[0].kid, result.keys[0].name) == ("7", "RSA-2048")
    names = {c["name"] for c in build_cbom([report], "identity service")["components"]}
    assert names == {"RSA-2048", "7"}


def test_a_registered_kind_without_a_typed_result_keeps_its_dict() -> None:
    with catalogue.registered(toy_check.SPEC):
        report = CheckReport.model_validate({**STORED, "kind": "toy", "details": {"lines": 2}})
        assert report.result() is None
    assert report.details == {"lines": 2}
