"""What protects the channel after the key exchange, on real servers: strict key exchange against
Terrapin (CVE-2023-48795), and the ciphers and MACs offered. Debian's sshd always does strict key
exchange; paramiko's server is the one that can be run without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.ssh import run_ssh_check
from tests.peers.paramiko_sshd import paramiko_sshd, paramiko_unavailable
from tests.peers.sshd import openssh_version, running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
needs_paramiko = pytest.mark.skipif(
    paramiko_unavailable() is not None, reason=str(paramiko_unavailable())
)
RSA_2048 = ("rsa", 2048)
ETM = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"]


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _paramiko(folder: Path, strict: bool, disabled: dict[str, list[str]] | None = None):
    with paramiko_sshd(folder, RSA_2048, strict, disabled) as port:
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


def _check_sshd(folder: Path, **config: str) -> CheckReport:
    with running_sshd(folder, **config) as port:
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


@needs_sshd
def test_openssh_with_strict_kex_is_not_open_to_terrapin_even_with_chacha20(
    tmp_path: Path,
) -> None:
    report = _check_sshd(tmp_path, ciphers="chacha20-poly1305@openssh.com", macs=ETM[0])
    if not report.details["strict_kex"]:
        pytest.skip(f"this OpenSSH {openssh_version()} build predates strict key exchange")
    assert report.details["terrapin"] == "mitigated"
    assert "SSH-009" not in _codes(report)


@needs_paramiko
def test_without_strict_kex_cbc_with_an_etm_mac_leaves_the_server_open_to_terrapin(
    tmp_path: Path,
) -> None:
    # paramiko's default offer has CBC ciphers beside the EtM MACs.
    report = _paramiko(tmp_path, strict=False)
    assert report.details["strict_kex"] is False
    assert report.details["terrapin"] == "vulnerable"
    (terrapin,) = [f for f in report.findings if f.code == "SSH-009"]
    assert {f"aes128-cbc + {mac}" for mac in ETM} <= set(terrapin.evidence["modes"])
    assert not [mode for mode in terrapin.evidence["modes"] if "-ctr" in mode or "gcm" in mode]


@needs_paramiko
def test_without_strict_kex_ctr_and_gcm_with_an_etm_mac_are_not_exposed(tmp_path: Path) -> None:
    # The Terrapin paper: CTR with EtM is not practically exploitable and GCM uses no MAC.
    with paramiko_sshd(
        tmp_path,
        RSA_2048,
        strict_kex=False,
        ciphers=("aes128-ctr", "aes256-gcm@openssh.com"),
        macs=(ETM[0],),
    ) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.details["strict_kex"] is False
    assert report.details["mac"] == [ETM[0]]
    assert report.details["terrapin"] == "not exposed"
    assert report.details["terrapin_exposures"] == []
    assert "SSH-009" not in _codes(report)


@needs_paramiko
def test_without_strict_kex_only_cbc_with_etm_is_exposed(tmp_path: Path) -> None:
    with paramiko_sshd(
        tmp_path, RSA_2048, strict_kex=False, ciphers=("aes128-ctr", "aes256-cbc"), macs=(ETM[1],)
    ) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.details["terrapin"] == "vulnerable"
    (terrapin,) = [f for f in report.findings if f.code == "SSH-009"]
    assert terrapin.evidence["modes"] == [f"aes256-cbc + {ETM[1]}"]


@needs_paramiko
def test_without_strict_kex_chacha20_alone_is_exposed(tmp_path: Path) -> None:
    # A server offering ChaCha20-Poly1305 without strict key exchange, as OpenSSH before 9.6
    # did; the MAC plays no part (an AEAD cipher uses none). aes128-ctr comes first so the
    # probe's own key exchanges never pick the cipher paramiko only names.
    with paramiko_sshd(
        tmp_path,
        RSA_2048,
        strict_kex=False,
        ciphers=("aes128-ctr", "chacha20-poly1305@openssh.com"),
        macs=("hmac-sha2-256",),
    ) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.details["terrapin"] == "vulnerable"
    (terrapin,) = [f for f in report.findings if f.code == "SSH-009"]
    assert terrapin.evidence["modes"] == ["chacha20-poly1305@openssh.com"]
    assert report.details["host_keys"][0]["signature_verified"] is True


@needs_sshd
def test_openssh_with_ctr_gcm_and_etm_lists_no_exploitable_combination(tmp_path: Path) -> None:
    report = _check_sshd(tmp_path, ciphers="aes128-ctr,aes256-gcm@openssh.com", macs=ETM[0])
    assert report.details["terrapin_exposures"] == []
    assert "SSH-009" not in _codes(report)


@needs_paramiko
def test_the_same_server_with_strict_kex_is_mitigated(tmp_path: Path) -> None:
    report = _paramiko(tmp_path, strict=True)
    assert report.details["strict_kex"] is True
    assert report.details["terrapin"] == "mitigated"
    assert "SSH-009" not in _codes(report)


@needs_paramiko
def test_without_strict_kex_or_an_affected_mode_nothing_is_exposed(tmp_path: Path) -> None:
    report = _paramiko(tmp_path, strict=False, disabled={"macs": ETM})
    assert report.details["terrapin"] == "not exposed"
    assert "SSH-009" not in _codes(report)


@needs_paramiko
def test_paramikos_default_offer_has_weak_ciphers_and_macs(tmp_path: Path) -> None:
    report = _paramiko(tmp_path, strict=True)
    assert {"aes128-cbc", "3des-cbc"} <= set(report.details["weak_ciphers"])
    assert {"hmac-md5", "hmac-sha1-96"} <= set(report.details["weak_macs"])
    assert {"SSH-010", "SSH-011"} <= _codes(report)


@needs_sshd
def test_restricted_weak_ciphers_and_macs_are_named(tmp_path: Path) -> None:
    report = _check_sshd(
        tmp_path,
        ciphers="aes256-gcm@openssh.com,aes128-cbc,3des-cbc",
        macs="hmac-sha2-256-etm@openssh.com,hmac-md5,hmac-sha1-96,umac-64@openssh.com",
    )
    assert report.details["weak_ciphers"] == ["aes128-cbc", "3des-cbc"]
    assert report.details["weak_macs"] == ["hmac-md5", "hmac-sha1-96", "umac-64@openssh.com"]
    (ciphers,) = [f for f in report.findings if f.code == "SSH-010"]
    assert ciphers.evidence["ciphers"] == ["aes128-cbc", "3des-cbc"]


@needs_sshd
def test_a_hardened_server_has_no_cipher_or_mac_finding(tmp_path: Path) -> None:
    report = _check_sshd(
        tmp_path,
        ciphers="chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-ctr",
        macs="hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com",
    )
    assert (report.details["weak_ciphers"], report.details["weak_macs"]) == ([], [])
    assert not _codes(report) & {"SSH-009", "SSH-010", "SSH-011"}
