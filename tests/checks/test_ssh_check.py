"""The SSH check reads real OpenSSH servers' KEXINIT on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.report import ReportStatus
from checks.ssh import run_ssh_check
from tests.peers import servers
from tests.peers.sshd import running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))


def _codes(report) -> set[str]:
    return {f.code for f in report.findings}


@needs_sshd
def test_default_openssh_offers_and_prefers_sntrup761(tmp_path: Path) -> None:
    with running_sshd(tmp_path / "default") as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.status is ReportStatus.COMPLETED
    kex = [k["name"] for k in report.details["kex_algorithms"]]
    assert kex[0] in {
        "sntrup761x25519-sha512@openssh.com",
        "sntrup761x25519-sha512",
        "mlkem768x25519-sha256",
    }
    assert report.details["kex_algorithms"][0]["class"] == "hybrid"
    assert "SSH-006" in _codes(report)
    assert report.subscores["key_exchange"] == 100
    assert report.details["banner"].startswith("SSH-2.0-OpenSSH_")


@needs_sshd
def test_classical_only_kex_is_flagged(tmp_path: Path) -> None:
    with running_sshd(tmp_path / "classical", kex="curve25519-sha256,ecdh-sha2-nistp256") as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert [k["name"] for k in report.details["kex_algorithms"]][:2] == [
        "curve25519-sha256",
        "ecdh-sha2-nistp256",
    ]
    assert "SSH-001" in _codes(report)
    assert report.subscores["key_exchange"] == 0


@needs_sshd
def test_pq_offered_but_not_first_is_flagged(tmp_path: Path) -> None:
    kex = "curve25519-sha256,sntrup761x25519-sha512@openssh.com"
    with running_sshd(tmp_path / "second", kex=kex) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert "SSH-002" in _codes(report)
    assert report.subscores["key_exchange"] == 70


@pytest.mark.parametrize(
    "handler",
    [
        servers.garbage_handler,
        servers.close_early_handler,
        servers.stall_handler,
        servers.ssh_banner_only_handler(b"SSH-2.0-Fake\r\n\x00\x01\x00\x00garbage"),
    ],
    ids=["garbage", "closes-early", "stalls", "absurd-packet-length"],
)
def test_misbehaving_ssh_servers_give_one_clear_finding(handler) -> None:
    with servers.serving(handler) as server:
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=0.5)
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert _codes(report) == {"SSH-005"}
