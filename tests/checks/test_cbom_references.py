"""Keys, certificates and protocols name their algorithm by reference: through `dependencies`
(dependsOn, and CycloneDX 1.6 `provides`), algorithmRef, subjectPublicKeyRef,
signatureAlgorithmRef, cipher suites and 1.7's relatedCryptographicAssets. Each is followed, a
bounded number of steps, and cycles end."""

from __future__ import annotations

import time

import pytest

from checks.cbom import MAX_REFERENCE_DEPTH, run_cbom_check
from checks.egress import EgressPolicy
from checks.report import CheckReport, ReportStatus
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from tests.checks.cbom_cases import CBOMS, HANDWRITTEN, assets_by_ref, finding_evidence, run
from tests.peers.cboms import reference_chain, reference_cycles, reference_fan_out

KAFKA = CBOMS / "cbomkit_kafka-cbom.json"


def test_every_key_of_cbomkits_kafka_cbom_takes_the_algorithm_it_depends_on() -> None:
    assets = assets_by_ref(run(KAFKA))
    expected = {
        # key -> (its algorithm's bom-ref, the class that algorithm has)
        "ff11be02-d1ac-4887-ae6e-b4e49f2bc41c": ("c730ac20-a820-4337-b501-c2039d8457e1", "EC"),
        "3e623753-9aac-493b-80ce-21ec2f64de38": ("5dc8d1ab-85a2-40a0-a336-351438a620ec", "DSA"),
        "e249f26f-07b8-4e6e-96ae-e0827f1dc6a6": (
            "f7e5697b-626b-4a71-b057-bd6bd865e2f8",
            "RSA-2048",
        ),
    }
    for key, (algorithm_ref, algorithm_name) in expected.items():
        assert assets[key]["via"] == [algorithm_ref]
        assert assets[key]["class"] == assets[algorithm_ref]["class"] != "unknown", algorithm_name
        assert assets[key]["algorithm"] == assets[algorithm_ref]["algorithm"]
    assert assets["3e623753-9aac-493b-80ce-21ec2f64de38"]["class"] == "classically-broken"


def test_a_dependency_between_algorithms_does_not_change_the_algorithms_class() -> None:
    assets = assets_by_ref(run(HANDWRITTEN / "cbomkit-names.cdx.json"))
    # Ed25519 depends on SHA-512 and RSASSA-PSS on MGF1; each keeps its own class.
    assert assets["a-ed25519"]["class"] == "quantum-vulnerable"
    assert assets["a-rsassa-pss"]["class"] == "quantum-vulnerable"
    assert assets["a-hmac-sha256"]["class"] == "quantum-safe"
    assert assets["a-ed25519"]["via"] == []


def test_a_certificate_takes_the_worst_of_its_signature_and_its_key_through_the_key() -> None:
    assets = assets_by_ref(run(HANDWRITTEN / "references.cdx.json"))
    # The key is RSA by algorithmRef, and its own size makes it 1024-bit.
    key = assets["k-portal-public"]
    assert (key["class"], key["algorithm"], key["via"]) == ("classically-broken", "RSA", ["a-rsa"])
    assert "1024" in key["basis"]
    assert assets["k-signing-public"]["class"] == "quantum-vulnerable"
    certificate = assets["c-portal"]
    assert certificate["class"] == "classically-broken"
    assert certificate["via"] == ["k-portal-public", "a-rsa"]
    assert certificate["use"] == "signature"


def test_a_protocol_is_linked_by_provides_and_depends_on() -> None:
    assets = assets_by_ref(run(HANDWRITTEN / "references.cdx.json"))
    protocol = assets["p-tls13"]
    # X25519MLKEM768 (hybrid) by `provides`, ML-DSA-65 (quantum-safe) by `dependsOn`.
    assert protocol["class"] == "hybrid"
    assert protocol["via"] == ["a-x25519mlkem768"]


def test_a_cyclonedx_1_7_certificate_is_linked_by_related_cryptographic_assets() -> None:
    assets = assets_by_ref(run(HANDWRITTEN / "references-1.7.cdx.json"))
    certificate = assets["c-portal"]
    assert certificate["class"] == "quantum-safe"
    assert certificate["algorithm"] == "ML-DSA-65"


def test_the_cyclonedx_certificate_example_resolves_through_subject_public_key_ref() -> None:
    assets = assets_by_ref(run(CBOMS / "CBOM_Certificate_bom.json"))
    certificate = assets[
        "crypto/certificate/google.com@sha256:"
        "1e15e0fbd3ce95bde5945633ae96add551341b11e5bae7bba12e98ad84a5beb4"
    ]
    assert certificate["class"] == "quantum-vulnerable"
    assert certificate["algorithm"] == "RSA"
    assert certificate["via"][0] in {
        "crypto/algorithm/sha-512-rsa@1.2.840.113549.1.1.13",
        "crypto/key/rsa-2048@1.2.840.113549.1.1.1",
    }


def _hostile(raw: bytes) -> CheckReport:
    return run_cbom_check(raw, "hostile.json")


def _classes(report: CheckReport) -> dict[str, int]:
    return report.details["counts"]


@pytest.mark.parametrize(
    ("build", "counts"),
    [
        # Every key of a cycle is unknown.
        pytest.param(lambda: reference_cycles(2_000), {"unknown": 4_001}, id="2,000 cycles"),
        # The 17 keys nearest the algorithm take its class; the rest are past the bound.
        pytest.param(
            lambda: reference_chain(20_000),
            {
                "quantum-vulnerable": MAX_REFERENCE_DEPTH + 1,
                "unknown": 20_000 - MAX_REFERENCE_DEPTH,
            },
            id="a 20,000-step chain",
        ),
        # The wide key and the 32 keys of the diamond layers all reach RSA-2048.
        pytest.param(
            lambda: reference_fan_out(200_000),
            {"quantum-vulnerable": 34},
            id="200,000 refs from one key, 65,536 paths",
        ),
    ],
)
def test_a_hostile_reference_graph_is_resolved_quickly(build, counts: dict[str, int]) -> None:
    raw = build()
    started = time.monotonic()
    report = _hostile(raw)
    assert time.monotonic() - started < 10
    assert report.status is ReportStatus.COMPLETED
    assert _classes(report) == counts


def test_a_reference_cycle_leaves_its_keys_unknown_and_says_why() -> None:
    report = _hostile(reference_cycles(3))
    reasons = finding_evidence(report, "CBOM-003")["reasons"]
    assert len(reasons) == 7  # three pairs and the key naming itself
    assert all("cycle" in reason for reason in reasons.values())


def test_a_chain_longer_than_the_bound_is_cut_and_the_cut_is_named() -> None:
    report = _hostile(reference_chain(MAX_REFERENCE_DEPTH + 5))
    assets = assets_by_ref(report)
    # The key next to the algorithm resolves; the far end of the chain is past the bound.
    assert assets[f"key-{MAX_REFERENCE_DEPTH + 4}"]["class"] == "quantum-vulnerable"
    far = assets["key-0"]
    assert far["class"] == "unknown"
    assert f"{MAX_REFERENCE_DEPTH} references" in far["basis"]


def test_hostile_reference_graphs_stay_within_the_sandbox_limits() -> None:
    check = SandboxedCheck(kind="cbom", file_name="inventory.json")
    for raw in (reference_cycles(20_000), reference_chain(50_000), reference_fan_out(400_000)):
        report = run_sandboxed(check, EgressPolicy.loopback_only(), raw)
        assert report.status is ReportStatus.COMPLETED, report.findings
