"""Host keys are read from real key exchanges with Debian's sshd: each key's type, size and
fingerprint match what ssh-keygen made, the server's signature verifies, and weak keys are
findings and lower the signature score."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from checks.catalogue import spec_for
from checks.egress import EgressPolicy
from checks.report import CheckReport, ReportStatus
from checks.ssh import run_ssh_check
from checks.ssh.hostkeys import parse_host_key
from checks.ssh.kex import PROBE_KEX
from checks.ssh.transport import NAME_LISTS, kexinit_payload
from checks.ssh.wire import SshProtocolError, string, uint32
from tests.peers import servers
from tests.peers.paramiko_sshd import paramiko_sshd, paramiko_unavailable
from tests.peers.sshd import ED25519, fingerprint, host_key, running_sshd, sshd_unavailable

LOOPBACK = EgressPolicy.loopback_only()
needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
# Debian's sshd no longer offers ssh-dss or ssh-rsa unless told to.
EVERY_HOST_KEY_ALGORITHM = (
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "rsa-sha2-512,rsa-sha2-256,ssh-dss"
)


def _codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


def _check(folder: Path, **config: object) -> CheckReport:
    with running_sshd(folder, **config) as port:  # type: ignore[arg-type]
        return run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)


@needs_sshd
@pytest.mark.parametrize(
    ("spec", "key_type", "code", "signatures"),
    [
        (("rsa", 1024), "RSA", "SSH-007", 0),  # the smallest sshd still loads
        (("rsa", 2048), "RSA", "SSH-008", 30),
        (("rsa", 3072), "RSA", None, 50),
        (("dsa", 1024), "DSA", "SSH-007", 0),
        (("ecdsa", 256), "ECDSA-P256", None, 50),
        (("ecdsa", 384), "ECDSA-P384", None, 50),
        (("ecdsa", 521), "ECDSA-P521", None, 50),
        (ED25519, "Ed25519", None, 50),
    ],
    ids=lambda value: "-".join(map(str, value)) if isinstance(value, tuple) else None,
)
def test_each_host_key_is_read_with_its_size_and_judged(
    tmp_path: Path, spec: tuple[str, int], key_type: str, code: str | None, signatures: int
) -> None:
    report = _check(tmp_path, host_keys=[spec], host_key_algorithms=EVERY_HOST_KEY_ALGORITHM)
    (key,) = report.details["host_keys"]
    assert (key["key_type"], key["key_bits"]) == (key_type, spec[1])
    assert key["fingerprint"] == fingerprint(host_key(tmp_path, spec))
    assert key["signature_verified"] is True
    assert report.subscores["signatures_and_certificates"] == signatures
    judged = _codes(report) & {"SSH-007", "SSH-008"}
    assert judged == ({code} if code else set())


@needs_sshd
@pytest.mark.parametrize("kex", PROBE_KEX)
def test_every_key_exchange_the_probe_performs_reads_and_verifies_the_host_key(
    tmp_path: Path, kex: str
) -> None:
    report = _check(tmp_path, kex=kex, host_keys=[ED25519, ("ecdsa", 256), ("rsa", 2048)])
    keys = report.details["host_keys"]
    assert {k["key_type"] for k in keys} == {"Ed25519", "ECDSA-P256", "RSA"}
    assert {k["kex"] for k in keys} == {kex}
    assert all(k["signature_verified"] for k in keys)
    assert report.details["host_keys_not_read"] == []


@needs_sshd
def test_a_server_offering_only_pq_key_exchange_leaves_its_host_key_unread_not_guessed(
    tmp_path: Path,
) -> None:
    report = _check(tmp_path, kex="sntrup761x25519-sha512@openssh.com")
    assert report.status is ReportStatus.COMPLETED
    assert report.details["host_keys"] == []
    (unread,) = report.details["host_keys_not_read"]
    assert unread["attempted"] is True
    assert "no key exchange in common" in unread["reason"]
    assert "SSH-012" in _codes(report)
    assert report.subscores["key_exchange"] == 100


@needs_sshd
def test_a_weak_host_key_shows_in_the_cbom_with_its_size(tmp_path: Path) -> None:
    report = _check(tmp_path, host_keys=[("rsa", 1024)])
    components = spec_for("ssh").cbom(report)  # type: ignore[misc]
    (rsa,) = [c for c in components if c["name"] == "RSA-1024"]
    assert rsa["cryptoProperties"]["algorithmProperties"]["classicalSecurityLevel"] == 80


def _stalling_after_kexinit(sock) -> None:
    lists = {name: [] for name in NAME_LISTS} | {
        "kex_algorithms": ["curve25519-sha256"],
        "server_host_key_algorithms": ["ssh-ed25519", "rsa-sha2-512"],
        "encryption_client_to_server": ["aes128-ctr"],
        "encryption_server_to_client": ["aes128-ctr"],
        "mac_client_to_server": ["hmac-sha2-256"],
        "mac_server_to_client": ["hmac-sha2-256"],
        "compression_client_to_server": ["none"],
        "compression_server_to_client": ["none"],
    }
    payload = kexinit_payload(lists)
    padding = 8 - (5 + len(payload)) % 8 + 8
    sock.sendall(b"SSH-2.0-Stalls\r\n")
    sock.sendall(uint32(1 + len(payload) + padding) + bytes([padding]) + payload + bytes(padding))
    sock.recv(65536)
    time.sleep(3)


def test_a_server_that_stalls_after_its_kexinit_costs_a_bounded_time() -> None:
    started = time.monotonic()
    with servers.serving(_stalling_after_kexinit) as server:
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=0.4)
    assert time.monotonic() - started < 0.4 * 5
    assert report.status is ReportStatus.COMPLETED  # the KEXINIT was read
    assert {u["algorithm"] for u in report.details["host_keys_not_read"]} == {
        "ssh-ed25519",
        "rsa-sha2-512",
    }
    assert "SSH-012" in _codes(report)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        string(b"ssh-rsa") + string(b"\x01"),  # no modulus
        string(b"ecdsa-sha2-nistp256") + string(b"nistp999") + string(b"\x04"),
        string(b"ssh-ed25519") + string(b"short"),
        string(b"x-unknown-key") + string(b""),
        string(b"ssh-rsa") + uint32(2**31),  # a length past the end
    ],
    ids=["empty", "rsa-no-modulus", "unknown-curve", "short-ed25519", "unknown-type", "overlong"],
)
def test_a_malformed_host_key_is_a_protocol_error_never_a_crash(blob: bytes) -> None:
    with pytest.raises(SshProtocolError):
        parse_host_key(blob)


@pytest.mark.skipif(paramiko_unavailable() is not None, reason=str(paramiko_unavailable()))
def test_a_host_key_that_did_not_sign_the_exchange_is_neither_judged_nor_credited(
    tmp_path: Path,
) -> None:
    # The server presents an RSA-1024 key but signs with another key: nothing proves the 1024-bit
    # key is the server's, so it is not an SSH-007 (it may not be the server's key at all) and
    # the signature sub-score earns nothing (fail closed).
    with paramiko_sshd(tmp_path, ("rsa", 1024), True, signing_key=("rsa", 3072)) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    assert report.details["host_keys"] == []
    (unverified,) = report.details["host_keys_unverified"]
    assert (unverified["key_type"], unverified["key_bits"]) == ("RSA", 1024)
    assert unverified["signature_verified"] is False
    assert unverified["fingerprint"] == fingerprint(host_key(tmp_path, ("rsa", 1024)))
    assert "SSH-017" in _codes(report)
    assert not _codes(report) & {"SSH-007", "SSH-008"}
    assert report.subscores["signatures_and_certificates"] == 0
    components = spec_for("ssh").cbom(report)  # type: ignore[misc]
    assert not [c for c in components if c["name"].startswith("RSA-")]


@pytest.mark.skipif(paramiko_unavailable() is not None, reason=str(paramiko_unavailable()))
def test_the_same_key_signing_honestly_is_judged(tmp_path: Path) -> None:
    with paramiko_sshd(tmp_path, ("rsa", 1024), True) as port:
        report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK)
    (key,) = report.details["host_keys"]
    assert (key["key_bits"], key["signature_verified"]) == (1024, True)
    assert "SSH-007" in _codes(report)
    assert "SSH-017" not in _codes(report)
