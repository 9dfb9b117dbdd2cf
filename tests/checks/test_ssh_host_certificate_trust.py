"""Whether a client that trusts the CA would accept the host certificate, on Debian's sshd with
certificates signed by ssh-keygen: the CA's signature algorithm must be one of the CA key's
type and not SHA-1 (ssh-rsa, refused by OpenSSH 8.2 and later), a short CA key is a finding as
a short host key is, and the principals must name the host the check was pointed at. A
certificate a client refuses earns nothing, by construction and not only through a cap."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from checks.catalogue.ssh import SshHostCertificate
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.ssh import run_ssh_check
from checks.ssh.certificates import parse_certificate
from checks.ssh.host_key_verdicts import judge_host_keys, names_host
from checks.ssh.wire import mpint, string
from tests.peers.ssh_certificates import ca_key, sign_host_key
from tests.peers.sshd import ED25519, KeySpec, host_key, running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
RSA_3072: KeySpec = ("rsa", 3072)


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _found(report: CheckReport, code: str):  # type: ignore[no-untyped-def]
    (found,) = [f for f in report.findings if f.code == code]
    return found


def _with_certificate(
    folder: Path,
    ca: KeySpec = ED25519,
    principals: str = "localhost,127.0.0.1",
    signature_algorithm: str | None = None,
    host: bool = True,
    target: str = "127.0.0.1",
) -> CheckReport:
    path = host_key(folder, ED25519)
    certificate = sign_host_key(
        path,
        ca_key(folder, ca),
        principals=principals,
        signature_algorithm=signature_algorithm,
        host=host,
    )
    with running_sshd(folder, extra=[f"HostCertificate {certificate}"]) as port:
        return run_ssh_check(f"{target}:{port}", LOOPBACK)


@needs_sshd
def test_an_rsa_ca_signing_with_sha2_is_credited(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, ca=RSA_3072, signature_algorithm="rsa-sha2-512")
    (cert,) = report.details["host_certificates"]
    assert (cert["ca_signature_algorithm"], cert["ca_signature_verified"]) == (
        "rsa-sha2-512",
        True,
    )
    assert not _codes(report) & {"SSH-015", "SSH-016", "SSH-021", "SSH-022"}
    assert report.subscores["signatures_and_certificates"] == 50


@needs_sshd
def test_a_sha1_ca_signature_is_weak_and_earns_nothing(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, ca=RSA_3072, signature_algorithm="ssh-rsa")
    (cert,) = report.details["host_certificates"]
    # The signature itself verifies; OpenSSH 8.2 and later refuse it all the same.
    assert (cert["ca_signature_algorithm"], cert["ca_signature_verified"]) == ("ssh-rsa", True)
    (weak,) = _found(report, "SSH-015").evidence["certificates"]
    assert weak["ca_signature"] == "ssh-rsa"
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_a_short_ca_key_is_a_finding_like_a_short_host_key(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, ca=("rsa", 2048))
    (short,) = _found(report, "SSH-021").evidence["certificates"]
    assert (short["ca_key"], short["bits"]) == ("RSA", 2048)
    assert _found(report, "SSH-021").severity == "low"  # as SSH-008 is for an RSA-2048 host key
    assert "SSH-015" not in _codes(report)
    # Accepted by clients, so counted: RSA-2048 is 112-bit, the weakest signature in use.
    assert report.subscores["signatures_and_certificates"] == 30


@needs_sshd
def test_a_certificate_for_another_host_is_found_and_earns_nothing(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, principals="other.example,192.0.2.7")
    (wrong,) = _found(report, "SSH-022").evidence["certificates"]
    assert wrong["principals"] == ["other.example", "192.0.2.7"]
    assert wrong["host"] == "127.0.0.1"
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_a_name_principal_does_not_cover_an_address_target(tmp_path: Path) -> None:
    report = _with_certificate(tmp_path, principals="localhost")
    assert "SSH-022" in _codes(report)
    assert report.subscores["signatures_and_certificates"] == 0


@needs_sshd
def test_a_certificate_without_principals_is_valid_for_any_host_and_flagged(
    tmp_path: Path,
) -> None:
    report = _with_certificate(tmp_path, principals="")
    (cert,) = report.details["host_certificates"]
    assert cert["principals"] == []
    assert _found(report, "SSH-023").severity == "low"
    assert "SSH-022" not in _codes(report)
    # OpenSSH accepts it for any host, so it is credited.
    assert report.subscores["signatures_and_certificates"] == 50


@pytest.mark.parametrize(
    ("principals", "host", "named"),
    [
        (("db1.police.example",), "DB1.police.example", True),
        (("*.police.example",), "db1.police.example", True),
        (("db1.police.example",), "db2.police.example", False),
        (("::1",), "0:0:0:0:0:0:0:1", True),
        (("127.0.0.1",), "127.0.0.2", False),
        ((), "db1.police.example", None),
        (("db1.police.example",), "", False),
    ],
)
def test_principals_match_as_openssh_matches_them(
    principals: tuple[str, ...], host: str, named: bool | None
) -> None:
    assert names_host(principals, host) is named


@needs_sshd
@pytest.mark.parametrize(
    ("signing", "code"),
    [({"host": False}, "SSH-016"), ({"principals": "other.example"}, "SSH-022")],
    ids=["user-certificate", "another-host"],
)
def test_a_refused_certificate_earns_nothing_whatever_the_caps_say(
    tmp_path: Path, signing: dict, code: str
) -> None:
    # The certified key signed the exchange and the CA is sound: only the refusal keeps them
    # out of the signature sub-score, before any cap is applied.
    report = _with_certificate(tmp_path, **signing)
    (seen,) = report.details["host_certificates"]
    cert = SshHostCertificate.model_validate(seen)
    assert cert.signature_verified
    assert cert.ca_signature_verified
    verdict = judge_host_keys([], [cert], datetime.now(UTC), "127.0.0.1")
    assert verdict.classifications == []
    assert verdict.caps == ["host_certificate_refused"]
    assert code in {f.code for f in verdict.findings}


def _relabelled(folder: Path, label: str, digest: hashes.HashAlgorithm) -> bytes:
    """An ssh-keygen certificate from a P-256 CA, its CA signature redone by the same CA key
    over `digest` and labelled `label`: what a server that chose its own algorithm would send."""
    ca = ca_key(folder, ("ecdsa", 256))
    path = sign_host_key(host_key(folder, ED25519), ca)
    blob = base64.b64decode(path.read_text().split()[1])
    start = blob.rfind(string(b"ecdsa-sha2-nistp256")) - 4  # the signature, the last field
    signed = blob[:start]
    private = serialization.load_ssh_private_key(ca.read_bytes(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(private.sign(signed, ec.ECDSA(digest)))
    return signed + string(string(label.encode()) + string(mpint(r) + mpint(s)))


def test_a_ca_signature_labelled_for_another_curve_does_not_verify(tmp_path: Path) -> None:
    # The control first: re-signed as the CA's own algorithm, it verifies.
    same = parse_certificate(_relabelled(tmp_path, "ecdsa-sha2-nistp256", hashes.SHA256()))
    assert same.ca_signature_verified is True
    # A P-256 CA's signature named ecdsa-sha2-nistp521 (so checked over SHA-512) is refused.
    other = parse_certificate(_relabelled(tmp_path, "ecdsa-sha2-nistp521", hashes.SHA512()))
    assert other.ca_signature_algorithm == "ecdsa-sha2-nistp521"
    assert other.ca_signature_verified is False
