"""The SSH check against real OpenSSH servers on loopback: what each real client would negotiate
decides the post-quantum verdict (the client's order decides, RFC 4253 7.1), not the server's
list order; misbehaving endpoints give one clear finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.report import CheckReport, ReportStatus
from checks.ssh import run_ssh_check
from tests.peers import servers
from tests.peers.sshd import running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
SNTRUP = "sntrup761x25519-sha512@openssh.com"


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _clients(report: CheckReport) -> dict[str, str | None]:
    return {c["client"]: c["kex"] for c in report.details["clients"]}


def _check(folder: Path, **config: str) -> CheckReport:
    with running_sshd(folder, **config) as port:
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


@needs_sshd
def test_default_openssh_gives_every_pq_capable_client_a_hybrid(tmp_path: Path) -> None:
    report = _check(tmp_path)
    assert report.status is ReportStatus.COMPLETED
    assert report.details["kex_algorithms"][0]["class"] == "hybrid"
    assert "SSH-006" in _codes(report)
    assert report.subscores["key_exchange"] == 100
    assert report.details["banner"].startswith("SSH-2.0-OpenSSH_")
    assert _clients(report)["openssh-9.0"] == SNTRUP
    assert _clients(report)["paramiko"] == "curve25519-sha256@libssh.org"


@needs_sshd
def test_pq_offered_second_is_still_what_every_pq_capable_client_negotiates(
    tmp_path: Path,
) -> None:
    # The server lists curve25519 first; an OpenSSH or PuTTY client still takes sntrup761
    # because it comes first on the client's own list.
    report = _check(tmp_path, kex=f"curve25519-sha256,{SNTRUP}")
    clients = _clients(report)
    assert {clients[c] for c in ("openssh-10", "openssh-9.9", "openssh-9.0", "putty-0.83")} == {
        SNTRUP
    }
    assert clients["paramiko"] is None  # curve25519-sha256@libssh.org is not offered
    assert "SSH-006" in _codes(report)
    assert "SSH-002" not in _codes(report)
    assert report.subscores["key_exchange"] == 100


@needs_sshd
def test_only_the_iana_sntrup_name_leaves_upstream_openssh_9_classical(tmp_path: Path) -> None:
    # OpenSSH 9.0 to 9.8 as released know sntrup761 only by its @openssh.com name.
    report = _check(tmp_path, kex="sntrup761x25519-sha512,curve25519-sha256")
    clients = _clients(report)
    assert clients["openssh-9.0"] == "curve25519-sha256"
    assert clients["openssh-10"] == "sntrup761x25519-sha512"
    (flagged,) = [f for f in report.findings if f.code == "SSH-002"]
    assert flagged.evidence["left_classical"] == {"OpenSSH 9.0 to 9.8": "curve25519-sha256"}
    assert report.subscores["key_exchange"] == 70


@needs_sshd
def test_classical_only_kex_is_flagged(tmp_path: Path) -> None:
    report = _check(tmp_path, kex="curve25519-sha256,ecdh-sha2-nistp256")
    assert [k["name"] for k in report.details["kex_algorithms"]] == [
        "curve25519-sha256",
        "ecdh-sha2-nistp256",
    ]
    assert "SSH-001" in _codes(report)
    assert report.subscores["key_exchange"] == 0
    assert all(c["class"] == "quantum-vulnerable" for c in report.details["clients"])


@needs_sshd
def test_strict_kex_is_an_extension_not_an_unknown_key_exchange(tmp_path: Path) -> None:
    report = _check(tmp_path)
    names = [k["name"] for k in report.details["kex_algorithms"]]
    assert "kex-strict-s-v00@openssh.com" not in names
    assert all(k["class"] != "unknown" for k in report.details["kex_algorithms"])
    assert "kex-strict-s-v00@openssh.com" in report.details["extensions"]
    assert report.details["strict_kex"] is True


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
