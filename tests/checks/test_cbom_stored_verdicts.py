"""A CBOM export writes what the run decided, not what the catalogue would decide today, and the
certificate check writes its certificates exactly as the TLS check does: each certificate with its
signature algorithm and its subject's public key, read back by the CBOM check with nothing
unknown. Runs are real: a TLS server on loopback, certificate files made by `cryptography`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from checks.cbom import run_cbom_check
from checks.cbom_export import CLASS_PROPERTY, build_cbom
from checks.certificate_file import run_certificate_check
from checks.egress import EgressPolicy
from checks.jwks import run_jwks_check
from checks.report import CheckReport
from checks.tls.check import run_tls_check
from pq_crypto.catalogue import algorithm_index
from tests.peers import servers
from tests.peers.certificates import generate_key, issue, make_certificate
from tests.peers.jwks import key_set, real_jwk

LOOPBACK = EgressPolicy.loopback_only()
Component = dict[str, Any]


def _by_ref(cbom: dict[str, Any]) -> dict[str, Component]:
    return {c["bom-ref"]: c for c in cbom["components"]}


def _class(component: Component) -> str:
    return {p["name"]: p["value"] for p in component["properties"]}[CLASS_PROPERTY]


def _level(component: Component) -> int | None:
    return component["cryptoProperties"]["algorithmProperties"].get("nistQuantumSecurityLevel")


def _tls_report(tmp_path: Path, kind: str) -> CheckReport:
    with servers.serving(servers.pyopenssl_handler(*make_certificate(tmp_path, kind))) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)


def _cert_report(kind: str, name: str = "service.pem") -> CheckReport:
    certificate = issue(generate_key(kind))
    return run_certificate_check(certificate.public_bytes(serialization.Encoding.PEM), name)


def _stored_differently(report: CheckReport, change: dict[str, Any]) -> CheckReport:
    """The run as a catalogue of another day judged it: the same observations, other classes."""
    details = copy.deepcopy(report.details)
    for key, value in change.items():
        target = details
        *path, last = key.split(".")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return report.model_copy(update={"details": details})


def _classes_read_back(cbom: dict[str, Any]) -> dict[str, str]:
    report = run_cbom_check(json.dumps(cbom).encode(), "exported.cbom.json")
    return {asset["bom_ref"]: asset["class"] for asset in report.details["assets"]}


def test_a_tls_run_exports_the_classes_it_stored_not_the_catalogues_of_today(
    tmp_path: Path,
) -> None:
    """Before: the export classified again, so X25519MLKEM768 came out at level 3 and the
    certificate's ECDSA at quantum-vulnerable whatever the run had decided."""
    report = _tls_report(tmp_path, "ecdsa")
    groups = [g["name"] for g in report.details["groups"]]
    hybrid = groups.index("X25519MLKEM768")
    assert report.details["groups"][hybrid]["supported"]
    assert report.details["handshake"]["group"] == "X25519MLKEM768"
    stored = _stored_differently(
        report,
        {
            f"groups.{hybrid}.algorithm_class": "quantum-vulnerable",
            "certificates.0.signature_class": "classically-broken",
            "certificates.0.key_class": "classically-broken",
            "certificates.0.key_security_bits": 80,
        },
    )
    assert algorithm_index().name("X25519MLKEM768").algorithm_class == "hybrid"

    components = _by_ref(build_cbom([stored], "portal"))

    [group] = [c for c in components.values() if c["name"] == "X25519MLKEM768"]
    assert (_class(group), _level(group)) == ("quantum-vulnerable", 0)
    # The protocol names the group as the run judged it.
    protocol = next(c for r, c in components.items() if r.startswith("protocol:"))
    assert (
        protocol["cryptoProperties"]["protocolProperties"]["cryptoRefArray"][0]
        == (group["bom-ref"])
    )
    certificate = next(c for r, c in components.items() if r.startswith("certificate:"))
    properties = certificate["cryptoProperties"]["certificateProperties"]
    assert _class(components[properties["signatureAlgorithmRef"]]) == "classically-broken"
    key = components[properties["subjectPublicKeyRef"]]["cryptoProperties"]
    key_algorithm = components[key["relatedCryptoMaterialProperties"]["algorithmRef"]]
    assert _class(key_algorithm) == "classically-broken"
    # The strength the run stored, not the catalogue's 128 bits for P-256.
    assert key_algorithm["cryptoProperties"]["algorithmProperties"]["classicalSecurityLevel"] == 80
    # What the run did not judge (the suite's cipher and hash) still comes from the catalogue.
    assert _class(components["algorithm:AES-256"]) == "quantum-safe"


def test_a_certificate_run_exports_the_classes_it_stored_not_the_catalogues_of_today() -> None:
    """Before: the ML-DSA-65 signature came out at level 3 from today's catalogue."""
    report = _cert_report("mldsa65")
    stored = _stored_differently(
        report,
        {
            "certificates.0.signature_class": "quantum-vulnerable",
            "certificates.0.key_class": "unknown",
        },
    )
    components = _by_ref(build_cbom([stored], "service"))
    [certificate] = [c for r, c in components.items() if r.startswith("certificate:")]
    properties = certificate["cryptoProperties"]["certificateProperties"]
    signature = components[properties["signatureAlgorithmRef"]]
    assert (signature["name"], _class(signature), _level(signature)) == (
        "ML-DSA-65",
        "quantum-vulnerable",
        0,
    )
    # The key's algorithm has the same name and another stored verdict: its own component,
    # not merged into the signature's.
    key = components[properties["subjectPublicKeyRef"]]["cryptoProperties"]
    key_algorithm = components[key["relatedCryptoMaterialProperties"]["algorithmRef"]]
    assert (key_algorithm["name"], _class(key_algorithm), _level(key_algorithm)) == (
        "ML-DSA-65",
        "unknown",
        None,
    )


def test_an_unchanged_run_exports_the_catalogues_detail_beside_its_class(tmp_path: Path) -> None:
    components = _by_ref(build_cbom([_tls_report(tmp_path, "mldsa65")], "portal"))
    group = components["algorithm:X25519MLKEM768"]
    assert (_class(group), _level(group)) == ("hybrid", 3)
    assert (
        _class(components["algorithm:ML-DSA-65"]),
        _level(components["algorithm:ML-DSA-65"]),
    ) == (
        "quantum-safe",
        3,
    )


@pytest.mark.parametrize(
    ("kind", "certificate_class", "key_size"),
    [
        ("ecdsa", "quantum-vulnerable", 256),
        ("p384", "quantum-vulnerable", 384),
        ("p224", "quantum-vulnerable", 224),
        ("secp256k1", "quantum-vulnerable", 256),
        ("rsa2048", "quantum-vulnerable", 2048),
        ("rsa1024", "classically-broken", 1024),
        ("ed25519", "quantum-vulnerable", 256),
        ("mldsa65", "quantum-safe", None),
    ],
)
def test_the_certificate_checks_cbom_reads_back_with_the_certificates_public_key(
    kind: str, certificate_class: str, key_size: int | None
) -> None:
    """Before: the certificate check wrote no subjectPublicKeyRef, so its key was not in the
    CBOM at all."""
    cbom = build_cbom([_cert_report(kind)], "service")
    classes = _classes_read_back(cbom)
    assert "unknown" not in classes.values(), classes
    components = _by_ref(cbom)
    [certificate] = [c for r, c in components.items() if r.startswith("certificate:")]
    assert classes[certificate["bom-ref"]] == certificate_class
    properties = certificate["cryptoProperties"]["certificateProperties"]
    key = components[properties["subjectPublicKeyRef"]]["cryptoProperties"]
    material = key["relatedCryptoMaterialProperties"]
    assert (key["assetType"], material["type"], material.get("size")) == (
        "related-crypto-material",
        "public-key",
        key_size,
    )
    assert material["algorithmRef"] in components
    assert "notValidBefore" in properties


def _certificate_shape(cbom: dict[str, Any]) -> list[tuple[str, Any]]:
    """The certificate, its key and their algorithms, without the refs that name the target."""
    components = _by_ref(cbom)
    [certificate] = [c for r, c in components.items() if r.startswith("certificate:")]
    properties = certificate["cryptoProperties"]["certificateProperties"]
    key = components[properties["subjectPublicKeyRef"]]
    key_algorithm = components[
        key["cryptoProperties"]["relatedCryptoMaterialProperties"]["algorithmRef"]
    ]
    signature = components[properties["signatureAlgorithmRef"]]
    return [
        ("certificate", sorted(properties)),
        ("key", {k: v for k, v in key.items() if k not in ("bom-ref", "name")}),
        ("key algorithm", key_algorithm),
        ("signature", signature),
    ]


@pytest.mark.parametrize("kind", ["ecdsa", "rsa2048"])
def test_tls_and_certificate_exports_write_a_certificate_the_same_way(
    tmp_path: Path, kind: str
) -> None:
    cert, key = make_certificate(tmp_path, kind)
    with servers.serving(servers.pyopenssl_handler(cert, key)) as server:
        tls = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)
    from_file = run_certificate_check(cert.read_bytes(), cert.name)
    assert _certificate_shape(build_cbom([tls], "portal")) == _certificate_shape(
        build_cbom([from_file], "portal")
    )


def test_a_certificate_on_a_curve_the_catalogue_lacks_exports_and_reads_back_without_a_crash() -> (
    None
):
    report = _cert_report("brainpoolP256r1")
    cbom = build_cbom([report], "service")
    components = _by_ref(cbom)
    key_algorithm = components["algorithm:EC brainpoolP256r1"]
    assert _class(key_algorithm) == "unknown"
    assert key_algorithm["cryptoProperties"]["algorithmProperties"]["curve"] == "brainpoolP256r1"
    assert (
        "nistQuantumSecurityLevel" not in key_algorithm["cryptoProperties"]["algorithmProperties"]
    )
    classes = _classes_read_back(cbom)
    # Read back, no asset is credited as resistant to a quantum attack.
    assert not {"quantum-safe", "hybrid"} & set(classes.values()), classes


def test_a_key_set_run_exports_the_classes_it_stored() -> None:
    """Before: the JWKS export classified each key's algorithm again at export time."""
    report = run_jwks_check(key_set(real_jwk("ecdsa")), "jwks.json")
    assert report.details["keys"][0]["class"] == "quantum-vulnerable"
    stored = _stored_differently(report, {"keys.0.class": "classically-broken"})
    algorithm = next(
        c
        for c in build_cbom([stored], "jwks")["components"]
        if c["cryptoProperties"]["assetType"] == "algorithm"
    )
    assert _class(algorithm) == "classically-broken"
    key = next(
        c
        for c in build_cbom([stored], "jwks")["components"]
        if c["cryptoProperties"]["assetType"] == "related-crypto-material"
    )
    assert (
        key["cryptoProperties"]["relatedCryptoMaterialProperties"]["algorithmRef"]
        == (algorithm["bom-ref"])
    )
    assert set(_classes_read_back(build_cbom([report], "jwks")).values()) == {"quantum-vulnerable"}
