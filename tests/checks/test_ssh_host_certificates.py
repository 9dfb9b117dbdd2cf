"""OpenSSH host certificates read from real key exchanges with Debian's sshd (HostCertificate,
signed with ssh-keygen -s): the certified key, type, principals, validity window and the CA key,
judged; an expired, not yet valid or user certificate, or a weak CA, is a finding and caps the
signature sub-score (an expired one to 0, as in TLS); a certificate never earns more than what
proved it. The CA's signature algorithm and the principals: test_ssh_host_certificate_trust.py."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks.catalogue import spec_for
from checks.catalogue.ssh import SshHostCertificate
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.ssh import run_ssh_check
from checks.ssh.certificates import LATEST, parse_certificate
from checks.ssh.host_key_verdicts import certificate_validity
from checks.ssh.wire import SshProtocolError
from tests.peers.ssh_certificates import ca_key, sign_host_key
from tests.peers.sshd import ED25519, KeySpec, fingerprint, host_key, running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
ED25519_CERT = "ssh-ed25519-cert-v01@openssh.com"


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _with_certificate(
    folder: Path,
    ca: KeySpec = ED25519,
    key: KeySpec = ED25519,
    validity: str = "-1d:+30d",
    host: bool = True,
    host_key_algorithms: str | None = None,
) -> CheckReport:
    path = host_key(folder, key)
    certificate = sign_host_key(path, ca_key(folder, ca), validity=validity, host=host)
    with running_sshd(
        folder,
        host_keys=[key],
        host_key_algorithms=host_key_algorithms,
        extra=[f"HostCertificate {certificate}"],
    ) as port:
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


@needs_sshd
def test_a_valid_host_certificate_is_read_with_its_ca_and_credited(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path)
    (cert,) = report.details["host_certificates"]
    assert cert["algorithm"] == ED25519_CERT
    assert (cert["cert_type"], cert["validity"]) == ("host", "valid")
    assert cert["principals"] == ["localhost", "127.0.0.1"]
    assert cert["key_id"] == "assure-test-host"
    assert cert["fingerprint"] == fingerprint(host_key(tmp_path, ED25519))
    assert cert["ca_fingerprint"] == fingerprint(ca_key(tmp_path, ED25519))
    assert (cert["ca_key_type"], cert["ca_key_bits"]) == ("Ed25519", 256)
    assert cert["signature_verified"]
    assert cert["ca_signature_verified"]
    valid_before = datetime.fromisoformat(cert["valid_before"])
    assert 29 <= (valid_before - datetime.now(UTC)).days <= 30
    assert ED25519_CERT not in {u["algorithm"] for u in report.details["host_keys_not_read"]}
    assert not _codes(report) & {"SSH-014", "SSH-015", "SSH-016", "SSH-017"}
    assert report.subscores["signatures_and_certificates"] == 50


@needs_sshd
@pytest.mark.parametrize(
    ("validity", "state"),
    [("20200101:20200201", "expired"), ("20990101:20991231", "not yet valid")],
)
def test_a_host_certificate_outside_its_validity_is_found(
    tmp_path: Path, validity: str, state: str
) -> None:
    report = _with_certificate(tmp_path, validity=validity)
    (cert,) = report.details["host_certificates"]
    assert cert["validity"] == state
    (flagged,) = [f for f in report.findings if f.code == "SSH-014"]
    assert flagged.evidence["certificates"][0]["validity"] == state
    # As an expired TLS certificate does: clients trust neither, so nothing is credited.
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_a_host_certificate_signed_by_a_weak_ca_is_found(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, ca=("rsa", 1024))
    (cert,) = report.details["host_certificates"]
    assert (cert["ca_key_type"], cert["ca_key_bits"]) == ("RSA", 1024)
    (flagged,) = [f for f in report.findings if f.code == "SSH-015"]
    assert flagged.evidence["certificates"][0]["bits"] == 1024
    # The CA is judged like a host key: RSA-1024 is broken.
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_a_user_certificate_presented_as_a_host_certificate_is_found(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, host=False)
    (cert,) = report.details["host_certificates"]
    assert cert["cert_type"] == "user"
    (flagged,) = [f for f in report.findings if f.code == "SSH-016"]
    assert "a user certificate" in flagged.evidence["certificates"][0]["reasons"][0]
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_an_rsa_host_certificate_is_read_through_rsa_sha2(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, key=("rsa", 3072))
    (cert,) = report.details["host_certificates"]
    assert cert["algorithm"] == "rsa-sha2-512-cert-v01@openssh.com"
    assert (cert["key_type"], cert["key_bits"]) == ("RSA", 3072)
    assert cert["signature_verified"]
    assert cert["ca_signature_verified"]
    lines = spec_for("ssh").console(report)  # type: ignore[misc]
    assert any(line.startswith("host certificate rsa-sha2-512-cert") for line in lines)


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x00\x00\x00\x20ssh-ed25519-cert-v01@openssh.com", b"\x00\x00\x00\x07ssh-rsa"],
    ids=["empty", "truncated", "not-a-certificate"],
)
def test_a_malformed_certificate_is_a_protocol_error_never_a_crash(blob: bytes) -> None:
    with pytest.raises(SshProtocolError):
        parse_certificate(blob)


def _certificate_blob(folder: Path) -> bytes:
    key = host_key(folder, ED25519)
    certificate = sign_host_key(key, ca_key(folder, ("ecdsa", 256)))
    return base64.b64decode(certificate.read_text().split()[1])


def test_a_real_certificate_parses_and_its_ca_signature_verifies(tmp_path: Path) -> None:
    cert = parse_certificate(_certificate_blob(tmp_path))
    assert (cert.cert_type, cert.principals) == (2, ("localhost", "127.0.0.1"))
    assert (cert.ca.key_type, cert.ca.bits) == ("ECDSA-P256", 256)
    assert cert.ca_signature_verified is True


def test_a_certificate_altered_after_signing_fails_its_ca_signature(tmp_path: Path) -> None:
    # A server can present any bytes: widen the principals it was signed for and the CA's
    # signature no longer verifies, so the certificate earns nothing.
    blob = _certificate_blob(tmp_path)
    altered = blob.replace(b"localhost", b"attackerx", 1)
    assert altered != blob
    cert = parse_certificate(altered)
    assert cert.principals[0] == "attackerx"
    assert cert.ca_signature_verified is False


@needs_sshd
def test_a_certificates_weak_ca_shows_in_the_cbom(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, ca=("rsa", 1024))
    names = [c["name"] for c in spec_for("ssh").cbom(report)]  # type: ignore[misc]
    assert "RSA-1024" in names


def test_every_corruption_of_a_real_certificate_parses_or_is_a_protocol_error(
    tmp_path: Path,
) -> None:
    blob = _certificate_blob(tmp_path)
    corrupted = [blob[:cut] for cut in range(0, len(blob), 7)]
    corrupted += [blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1 :] for i in range(len(blob))]
    for hostile in corrupted:
        try:
            cert = parse_certificate(hostile)
        except SshProtocolError:
            continue
        # What still parses never passes for what the CA signed.
        assert cert.ca_signature_verified is False or hostile == blob


def test_a_validity_start_past_the_year_9999_is_not_yet_valid(tmp_path: Path) -> None:
    # A hostile server's certificate may carry any uint64; one past what a datetime holds must
    # not read as "no start" (valid), whatever its CA signature says.
    blob = _certificate_blob(tmp_path)
    start = struct.pack("!Q", int(parse_certificate(blob).valid_after.timestamp()))
    assert blob.count(start) == 1
    cert = parse_certificate(blob.replace(start, struct.pack("!Q", 2**63)))
    assert cert.valid_after == LATEST
    seen = SshHostCertificate(algorithm=ED25519_CERT, valid_after=cert.valid_after)
    assert certificate_validity(seen, datetime.now(UTC)) == "not yet valid"


@needs_sshd
def test_an_rsa_certificate_offered_under_sha1_is_a_broken_host_key_algorithm(
    tmp_path: Path,
) -> None:
    offered = "rsa-sha2-512-cert-v01@openssh.com,ssh-rsa-cert-v01@openssh.com,rsa-sha2-512"
    report = _with_certificate(tmp_path, key=("rsa", 3072), host_key_algorithms=offered)
    classes = {a["name"]: a["class"] for a in report.details["host_key_algorithms"]}
    assert classes["ssh-rsa-cert-v01@openssh.com"] == "classically-broken"
    assert classes["rsa-sha2-512-cert-v01@openssh.com"] == "quantum-vulnerable"
    (broken,) = [f for f in report.findings if f.code == "SSH-004"]
    assert broken.evidence["algorithms"] == ["ssh-rsa-cert-v01@openssh.com"]
    # One certificate read for the RSA family, under the best name offered.
    assert [c["algorithm"] for c in report.details["host_certificates"]] == [
        "rsa-sha2-512-cert-v01@openssh.com"
    ]
