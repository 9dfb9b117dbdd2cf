"""Diffie-Hellman group sizes on real servers: fixed groups by name, and a group exchange's group
as the server really hands it out (the probe sends SSH_MSG_KEX_DH_GEX_REQUEST and reads the prime
from SSH_MSG_KEX_DH_GEX_GROUP, RFC 4419). A group under 2048 bits is SSH-013 (under 1024, SSH-019)
and caps the key exchange sub-score, harder when a real client would negotiate it, with the sizes,
severities and caps TLS uses (checks/data/dh_sizes.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.ssh import run_ssh_check
from tests.peers.paramiko_sshd import paramiko_sshd, paramiko_unavailable
from tests.peers.ssh_moduli import moduli_1024, system_moduli
from tests.peers.sshd import running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
needs_paramiko = pytest.mark.skipif(
    paramiko_unavailable() is not None, reason=str(paramiko_unavailable())
)
GEX = "diffie-hellman-group-exchange-sha256"


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _groups(report: CheckReport) -> dict[str, int | None]:
    return {group["kex"]: group["bits"] for group in report.details["dh_groups"]}


def _sshd(folder: Path, **config: object) -> CheckReport:
    with running_sshd(folder, **config) as port:  # type: ignore[arg-type]
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


@needs_sshd
@pytest.mark.parametrize("bits", [3072, 4096])
def test_the_group_exchange_size_is_what_the_servers_moduli_file_holds(
    tmp_path: Path, bits: int
) -> None:
    moduli = system_moduli(tmp_path, bits)
    report = _sshd(tmp_path, kex=GEX, extra=[f"ModuliFile {moduli}"])
    (group,) = report.details["dh_groups"]
    assert (group["kex"], group["bits"], group["source"]) == (GEX, bits, "group exchange")
    assert "SSH-013" not in _codes(report)


@needs_sshd
def test_openssh_never_hands_out_its_1024_bit_moduli(tmp_path: Path) -> None:
    # OpenSSH raises a client's minimum to 2048 bits and, finding no such group in its moduli
    # file, falls back to a fixed group of at least that: the check reports what is served.
    report = _sshd(tmp_path, kex=GEX, extra=[f"ModuliFile {moduli_1024(tmp_path)}"])
    assert (_groups(report)[GEX] or 0) >= 2048
    assert "SSH-013" not in _codes(report)


@needs_sshd
def test_a_fixed_1024_bit_group_beside_a_hybrid_is_found_and_costs_the_key_exchange(
    tmp_path: Path,
) -> None:
    report = _sshd(tmp_path, kex="+diffie-hellman-group1-sha1")
    groups = _groups(report)
    assert groups["diffie-hellman-group1-sha1"] == 1024
    assert groups["diffie-hellman-group14-sha256"] == 2048
    assert groups["diffie-hellman-group16-sha512"] == 4096
    (weak,) = [f for f in report.findings if f.code == "SSH-013"]
    assert weak.evidence["groups"] == {"diffie-hellman-group1-sha1": 1024}
    assert weak.severity == "high"  # as TLS-DH-001 is for a 1024-bit DHE prime (dh_sizes.yaml)
    assert weak.evidence["clients_negotiating"] == {}  # every client knows better
    # Every judged client gets the hybrid (100), but a weak group offered caps it.
    assert "SSH-006" in _codes(report)
    assert report.subscores["key_exchange"] == 70


@needs_paramiko
def test_a_group_exchange_that_hands_out_1024_bit_groups_is_found(tmp_path: Path) -> None:
    # paramiko serves what its moduli file holds, down to the client's minimum.
    disabled = {
        "kex": [
            "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256",
            "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group14-sha256",
        ]
    }
    with paramiko_sshd(
        tmp_path, ("rsa", 2048), True, disabled, moduli=moduli_1024(tmp_path)
    ) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert _groups(report) == {GEX: 1024}
    (weak,) = [f for f in report.findings if f.code == "SSH-013"]
    assert weak.evidence["groups"] == {GEX: 1024}
    # Real clients would take it: OpenSSH and paramiko both list the group exchange.
    assert "paramiko 3 to 5 (classical only)" in weak.evidence["clients_negotiating"]
    assert report.subscores["key_exchange"] == 0
    # The host key was still read over that same group exchange.
    assert report.details["host_keys"][0]["kex"] == GEX


@needs_paramiko
def test_a_group_exchange_with_2048_bit_groups_is_not_flagged(tmp_path: Path) -> None:
    disabled = {
        "kex": [
            "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256",
            "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group14-sha256",
        ]
    }
    moduli = system_moduli(tmp_path, 2048)
    with paramiko_sshd(tmp_path, ("rsa", 2048), True, disabled, moduli=moduli) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert _groups(report) == {GEX: 2048}
    assert "SSH-013" not in _codes(report)
