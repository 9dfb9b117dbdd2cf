"""A hostile CBOM cannot choose its own score: invented algorithms backed only by the supplier's
nistQuantumSecurityLevel, post-quantum algorithms nothing uses, and padding rows each leave the
score of the honest file (or lower it) and never meet NCSC 2028. Each CBOM is written as a file
built from a real fixture and read by the check as any upload is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checks.report import CheckReport
from tests.checks.cbom_cases import HANDWRITTEN, milestone, run

FOUR_VULNERABLE = HANDWRITTEN / "four-quantum-vulnerable.cdx.json"
IN_USE = HANDWRITTEN / "post-quantum-counterparts-in-use.cdx.json"


def _algorithm(ref: str, name: str, primitive: str, level: int | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"primitive": primitive}
    if level is not None:
        properties["nistQuantumSecurityLevel"] = level
    crypto = {"assetType": "algorithm", "algorithmProperties": properties}
    return {"type": "cryptographic-asset", "bom-ref": ref, "name": name, "cryptoProperties": crypto}


CLAIM_ONLY = [
    _algorithm("vendor/kem", "VendorQuantumKEM", "kem", 5),
    _algorithm("vendor/sig", "VendorQuantumSig", "signature", 5),
]
UNUSED_PQ = [
    _algorithm("unused/ml-kem-768", "ML-KEM-768", "kem", 3),
    _algorithm("unused/ml-dsa-65", "ML-DSA-65", "signature", 3),
]


def _padding(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Harmless rows: hashes and symmetric ciphers, each with its own bom-ref."""
    kinds = [("SHA-256", "hash"), ("AES-256-GCM", "ae"), ("SHA3-512", "hash")]
    return [_algorithm(f"padding/{n}", *kinds[n % len(kinds)]) for n in range(start, start + count)]


def _written(tmp_path: Path, base: Path, extra: list[dict[str, Any]], name: str) -> CheckReport:
    document = json.loads(base.read_text())
    document["components"] = document["components"] + copy.deepcopy(extra)
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return run(path)


@pytest.mark.parametrize(
    ("label", "extra"),
    [
        ("claim-only", CLAIM_ONLY),
        ("claim-only-and-padding", CLAIM_ONLY + _padding(40)),
        ("unused-pq", UNUSED_PQ),
        ("unused-pq-and-padding", UNUSED_PQ + _padding(40)),
        ("everything", CLAIM_ONLY + UNUSED_PQ + _padding(60)),
    ],
)
def test_the_reviewers_hostile_cboms_score_no_better_than_the_honest_one(
    tmp_path: Path, label: str, extra: list[dict[str, Any]]
) -> None:
    honest = run(FOUR_VULNERABLE)
    hostile = _written(tmp_path, FOUR_VULNERABLE, extra, f"{label}.cdx.json")
    assert honest.score == 20.0
    assert hostile.score is not None
    assert hostile.score <= honest.score
    assert milestone(hostile, "ncsc-2028") == "not met"
    readiness = hostile.details["readiness"]
    assert readiness["unmigrated_uses"] == ["key-establishment", "signature"]


def test_a_claim_only_algorithm_a_protocol_uses_is_still_no_counterpart(tmp_path: Path) -> None:
    # Used, but quantum-safe only on the supplier's word.
    protocol = {
        "type": "cryptographic-asset",
        "bom-ref": "protocol/vendor",
        "name": "VendorTLS",
        "cryptoProperties": {
            "assetType": "protocol",
            "protocolProperties": {"type": "tls", "cryptoRefArray": ["vendor/kem", "vendor/sig"]},
        },
    }
    report = _written(tmp_path, FOUR_VULNERABLE, [*CLAIM_ONLY, protocol], "claimed.cdx.json")
    assert report.score is not None
    assert report.score <= 20.0
    assert milestone(report, "ncsc-2028") == "not met"


def test_a_counterpart_for_one_use_does_not_meet_2028(tmp_path: Path) -> None:
    document = json.loads(IN_USE.read_text())
    # The ML-DSA certificate goes: signatures are left with Ed25519 alone.
    document["components"] = [
        c for c in document["components"] if c["bom-ref"] != "crypto/certificate/ml-dsa-65"
    ]
    path = tmp_path / "half.cdx.json"
    path.write_text(json.dumps(document))
    report = run(path)
    assert report.details["readiness"]["unmigrated_uses"] == ["signature"]
    assert report.score == 50.0  # 100 - 40 - 5 = 55, held at unmigrated_cap
    assert milestone(report, "ncsc-2028") == "not met"


@pytest.mark.parametrize("base", [FOUR_VULNERABLE, IN_USE], ids=["vulnerable", "in-use"])
@pytest.mark.parametrize("count", [1, 2, 5, 17, 60])
def test_appending_harmless_rows_never_raises_the_score(
    tmp_path: Path, base: Path, count: int
) -> None:
    honest = run(base).score
    assert honest is not None
    document = json.loads(base.read_text())
    # Duplicates of what is already there, under new bom-refs, and hashes and ciphers.
    duplicates = []
    for n, component in enumerate(document["components"][:count]):
        duplicates.append({**copy.deepcopy(component), "bom-ref": f"duplicate/{n}"})
    for extra in (_padding(count), duplicates, _padding(count) + duplicates):
        report = _written(tmp_path, base, extra, f"padded-{count}.cdx.json")
        assert report.score is not None
        assert report.score <= honest
        if base == FOUR_VULNERABLE:
            assert milestone(report, "ncsc-2028") == "not met"


def test_padding_cannot_dilute_unknown_or_claim_only_penalties(tmp_path: Path) -> None:
    unknown = [_algorithm("mystery/1", "FrobCipher", "other")]
    base = _written(tmp_path, IN_USE, [*unknown, *CLAIM_ONLY], "base.cdx.json")
    padded = _written(tmp_path, IN_USE, [*unknown, *CLAIM_ONLY, *_padding(200)], "padded.cdx.json")
    lost = base.details["readiness"]["points_lost"]
    assert lost["unknown"] == 10.0
    assert lost["supplier_claim"] == 20.0
    assert padded.details["readiness"]["points_lost"] == lost
    assert padded.score == base.score
