"""The TLS check's own CBOM, read back by the CBOM check: run against a real server on loopback,
exported, and classified with nothing unknown: groups, the protocol through its cipher suite and
group, each certificate through its signature algorithm and its subject's public key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.cbom import run_cbom_check
from checks.cbom_export import build_cbom
from checks.egress import EgressPolicy
from checks.tls.check import run_tls_check
from tests.cli import assure
from tests.peers import servers
from tests.peers.certificates import make_certificate

LOOPBACK = EgressPolicy.loopback_only()


def _exported(handler: servers.Handler) -> dict:  # type: ignore[type-arg]
    with servers.serving(handler) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)
    return build_cbom([report], "portal")


def _by_ref(cbom: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["bom-ref"]: c for c in cbom["components"]}


def _classes(cbom: dict) -> dict[str, str]:  # type: ignore[type-arg]
    report = run_cbom_check(json.dumps(cbom).encode(), "portal.cbom.json")
    return {asset["bom_ref"]: asset["class"] for asset in report.details["assets"]}


@pytest.mark.parametrize(
    ("kind", "certificate_class"),
    [
        ("ecdsa", "quantum-vulnerable"),
        ("rsa2048", "quantum-vulnerable"),
        ("mldsa65", "quantum-safe"),
    ],
)
def test_every_asset_of_an_openssl_4_endpoint_reads_back_classified(
    tmp_path: Path, kind: str, certificate_class: str
) -> None:
    cbom = _exported(servers.pyopenssl_handler(*make_certificate(tmp_path, kind)))
    classes = _classes(cbom)
    assert "unknown" not in classes.values(), classes
    certificate = next(ref for ref in classes if ref.startswith("certificate:"))
    assert classes[certificate] == certificate_class


def test_the_certificate_refers_to_its_key_and_signature_algorithm(tmp_path: Path) -> None:
    cbom = _exported(servers.pyopenssl_handler(*make_certificate(tmp_path, "rsa2048")))
    components = _by_ref(cbom)
    certificate = next(c for ref, c in components.items() if ref.startswith("certificate:"))
    properties = certificate["cryptoProperties"]["certificateProperties"]
    signature = components[properties["signatureAlgorithmRef"]]
    assert signature["cryptoProperties"]["oid"] == "1.2.840.113549.1.1.11"  # sha256WithRSA
    key = components[properties["subjectPublicKeyRef"]]["cryptoProperties"]
    assert key["assetType"] == "related-crypto-material"
    assert key["relatedCryptoMaterialProperties"]["type"] == "public-key"
    assert key["relatedCryptoMaterialProperties"]["size"] == 2048
    algorithm = components[key["relatedCryptoMaterialProperties"]["algorithmRef"]]
    assert algorithm["cryptoProperties"]["oid"] == "1.2.840.113549.1.1.1"  # rsaEncryption
    assert algorithm["cryptoProperties"]["algorithmProperties"]["parameterSetIdentifier"] == "2048"


def test_the_protocol_names_its_suite_and_the_group_it_negotiated(tmp_path: Path) -> None:
    cbom = _exported(servers.pyopenssl_handler(*make_certificate(tmp_path, "ecdsa")))
    components = _by_ref(cbom)
    protocol = next(c for ref, c in components.items() if ref.startswith("protocol:"))
    properties = protocol["cryptoProperties"]["protocolProperties"]
    assert properties["version"] == "1.3"
    [suite] = properties["cipherSuites"]
    assert suite["name"] == "TLS_AES_256_GCM_SHA384"
    assert suite["identifiers"] == ["0x13", "0x02"]
    assert suite["algorithms"][0] == "algorithm:X25519MLKEM768"
    assert {"algorithm:AES-256", "algorithm:SHA-384"} <= set(suite["algorithms"])
    assert all(ref in components for ref in suite["algorithms"] + properties["cryptoRefArray"])
    assert components["algorithm:ECDH-P256"]["cryptoProperties"]["oid"] == "1.2.840.10045.3.1.7"


def test_a_classical_openssl_3_endpoint_reads_back_classified(tmp_path: Path) -> None:
    cbom = _exported(servers.stdlib_handler(*make_certificate(tmp_path, "ecdsa")))
    classes = _classes(cbom)
    assert "unknown" not in classes.values(), classes
    protocol = next(ref for ref in classes if ref.startswith("protocol:"))
    assert classes[protocol] == "quantum-vulnerable"  # X25519 decides it


def test_assure_check_tls_cbom_reads_back_through_assure_check_cbom(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8,::1/128"}
    out = tmp_path / "endpoint.cbom.json"
    with servers.serving(servers.pyopenssl_handler(*make_certificate(tmp_path, "rsa2048"))) as s:
        exported = assure("check", "tls", f"127.0.0.1:{s.port}", "--cbom", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    read = assure("check", "cbom", str(out), "--json", env=env)
    assert read.returncode == 0, read.stderr
    report = json.loads(read.stdout)
    assert [a["name"] for a in report["details"]["assets"] if a["class"] == "unknown"] == []
    assert not [f for f in report["findings"] if f["code"] == "CBOM-003"]
