"""One judgement of finite-field Diffie-Hellman sizes for TLS and SSH (checks/data/dh_sizes.yaml):
the same floors, the same severities and the same key exchange caps in both checks, on real
peers (OpenSSL 4 serving a DHE prime beside its post-quantum groups, Debian's sshd offering
group 1 beside its hybrids); and a data file that lets the two drift apart does not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.dh_sizes import dh_sizes, load_dh_sizes
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.ssh import run_ssh_check
from checks.ssh.judge import DH_FINDINGS
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.dh_params import OAKLEY_GROUP_2, dh_params_file
from tests.peers.sshd import running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
DATA = (Path(__file__).resolve().parents[2] / "checks" / "data" / "dh_sizes.yaml").read_text()
# TLS 1.3 with OpenSSL 4's default groups (X25519MLKEM768 first), and TLS 1.2 with an ECDHE and
# a DHE suite: the DHE probe gets the server's 1024-bit prime.
CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256"


def _found(report: CheckReport, code: str):  # type: ignore[no-untyped-def]
    (found,) = [f for f in report.findings if f.code == code]
    return found


def _tls_with_dh(folder: Path, prime: int | None) -> CheckReport:
    cert, key = make_certificate(folder, "rsa2048")
    params = dh_params_file(folder, prime) if prime else servers.ffdhe2048(folder)
    handler = servers.pyopenssl_handler(cert, key, ciphers=CIPHERS, dh_params=params)
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=3.0)


def test_a_1024_bit_dhe_prime_caps_the_tls_key_exchange_as_ssh_caps_a_weak_group(
    tmp_path: Path,
) -> None:
    report = _tls_with_dh(tmp_path, OAKLEY_GROUP_2)
    weak = _found(report, "TLS-DH-001")
    assert (weak.severity, weak.evidence["bits"]) == ("high", 1024)
    # The hybrid alone would score more; a weak group the server accepts caps it as in SSH.
    assert report.subscores["key_exchange"] == dh_sizes().bands[-1].key_exchange_cap.offered
    assert report.subscores["key_exchange"] == 70


def test_a_2048_bit_dhe_prime_costs_the_tls_key_exchange_nothing(tmp_path: Path) -> None:
    # The control for the test above: the same server with RFC 7919's ffdhe2048.
    report = _tls_with_dh(tmp_path, None)
    assert not {"TLS-DH-001", "TLS-DH-002"} & {f.code for f in report.findings}
    assert report.subscores["key_exchange"] > 70


@needs_sshd
def test_a_1024_bit_group_is_judged_alike_in_ssh(tmp_path: Path) -> None:
    with running_sshd(tmp_path, kex="+diffie-hellman-group1-sha1") as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    weak = _found(report, "SSH-013")
    band = dh_sizes().band(1024)
    assert band is not None
    assert (weak.code, weak.severity) == (band.findings["ssh"], band.severity)
    assert report.subscores["key_exchange"] == band.key_exchange_cap.offered


def test_a_band_whose_findings_disagree_in_severity_does_not_load() -> None:
    drifted = DATA.replace("severity: high", "severity: medium")
    with pytest.raises(ValueError, match=r"band weak: TLS-DH-001 is high in findings\.yaml"):
        load_dh_sizes(drifted)


def test_bands_out_of_order_or_caps_inverted_do_not_load() -> None:
    with pytest.raises(ValueError, match="weakest up"):
        load_dh_sizes(DATA.replace("below_bits: 1024", "below_bits: 4096"))
    with pytest.raises(ValueError, match="caps more leniently"):
        load_dh_sizes(DATA.replace("{offered: 20, negotiated: 0}", "{offered: 90, negotiated: 0}"))


def test_the_floors_are_those_both_checks_have_always_named() -> None:
    sizes = load_dh_sizes(DATA)
    assert (sizes.broken_below_bits, sizes.minimum_bits) == (1024, 2048)
    assert sizes.key_exchange_cap(4096, negotiated=True) is None
    assert sizes.key_exchange_cap(None, negotiated=True) == 70  # unread: weak, offered


def test_the_codes_each_check_raises_are_the_ones_the_data_names() -> None:
    # The SSH judge raises by literal code, and the TLS safeguards raise TLS-DH-002 under the
    # first floor and TLS-DH-001 under the last: both as the bands say.
    bands = dh_sizes().bands
    assert {band.name: band.findings["ssh"] for band in bands} == DH_FINDINGS
    assert [band.findings["tls"] for band in bands] == ["TLS-DH-002", "TLS-DH-001"]
