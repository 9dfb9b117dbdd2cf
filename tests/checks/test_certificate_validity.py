"""A certificate's validity period, in a file and as a real TLS server on loopback presents it:
one not valid yet is reported (clients refuse it as they refuse an expired one), in the leaf and
further up the chain."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from checks.catalogue.certificate_seen import CertificateSeen, certificate_assets
from checks.certificate_file import run_certificate_check
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import generate_key, issue, write_key, write_pem

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _finding(report: CheckReport, code: str) -> dict:
    return next(f.evidence for f in report.findings if f.code == code)


def test_a_certificate_not_valid_for_another_ten_days_is_reported(tmp_path: Path) -> None:
    certificate = issue(generate_key("ecdsa"), not_before=NOW + 10 * DAY, not_after=NOW + 90 * DAY)
    report = run_certificate_check(certificate.public_bytes(serialization.Encoding.PEM), "c.pem")
    assert "CERT-007" in _codes(report)
    assert not {"CERT-001", "CERT-002"} & _codes(report)
    evidence = _finding(report, "CERT-007")
    assert evidence["days_until_valid"] == 9  # nine whole days and some hours
    assert evidence["not_before"] == certificate.not_valid_before_utc.isoformat()
    assert report.details["certificates"][0]["not_before"] == evidence["not_before"]


def test_a_certificate_valid_since_yesterday_is_not_reported() -> None:
    certificate = issue(generate_key("ecdsa"), not_before=NOW - DAY)
    report = run_certificate_check(certificate.public_bytes(serialization.Encoding.PEM), "c.pem")
    assert not {"CERT-001", "CERT-002", "CERT-007"} & _codes(report)


def test_an_intermediate_not_valid_yet_is_reported_at_its_place_in_the_chain(
    tmp_path: Path,
) -> None:
    ca_key, leaf_key = generate_key("p384"), generate_key("ecdsa")
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Issuing CA")])
    intermediate = issue(ca_key, subject=ca_name, not_before=NOW + 2 * DAY)
    leaf = issue(leaf_key, issuer_key=ca_key, issuer=ca_name)
    chain = write_pem(tmp_path / "chain.pem", leaf, intermediate)
    report = run_certificate_check(chain.read_bytes(), "chain.pem")
    places = [f.evidence["certificate"] for f in report.findings if f.code == "CERT-007"]
    assert places == ["chain[1]"]


def test_a_tls_server_presenting_a_certificate_not_valid_yet(tmp_path: Path) -> None:
    key = generate_key("ed448")
    certificate = issue(key, not_before=NOW + 3 * DAY, not_after=NOW + 60 * DAY)
    cert_path = write_pem(tmp_path / "future.pem", certificate)
    key_path = write_key(tmp_path / "future-key.pem", key)
    with servers.serving(servers.pyopenssl_handler(cert_path, key_path)) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", EgressPolicy.loopback_only())
    assert "CERT-007" in _codes(report)
    seen = report.details["certificates"][0]
    # An Ed448 key is a 448-bit curve (its encoding is 57 bytes), about 224 bits of security.
    assert (seen["key_type"], seen["key_bits"], seen["key_security_bits"]) == ("Ed448", 448, 224)
    assert seen["not_before"] == certificate.not_valid_before_utc.isoformat()


def test_a_certificate_stored_before_its_validity_start_was_recorded_still_reads() -> None:
    stored = {
        "subject": "CN=portal.example",
        "issuer": "CN=Example Issuing CA",
        "not_after": "2027-03-01T12:00:00+00:00",
        "key_type": "EC secp256r1",
        "key_bits": 256,
        "key_class": "quantum-vulnerable",
        "signature_algorithm": "ecdsa-with-SHA256",
        "signature_class": "quantum-vulnerable",
    }
    seen = CertificateSeen.model_validate(stored)
    assert (seen.not_before, seen.key_security_bits, seen.signature_oid) == (None, None, None)
    assets = certificate_assets("portal.example:443", [seen])
    component = next(a for a in assets if a["cryptoProperties"]["assetType"] == "certificate")
    properties = component["cryptoProperties"]["certificateProperties"]
    assert "notValidBefore" not in properties
    assert properties["notValidAfter"] == stored["not_after"]
