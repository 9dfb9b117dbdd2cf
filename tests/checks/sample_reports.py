"""One fresh report of every shipped kind, written by the check's own code without a network:
the file checks on files, TLS and SSH through their combine steps over planted answers (as a
server on loopback would give them), the API check lint-only on a description with a gate to
fail."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from checks.api.check import run_api_check
from checks.catalogue.ssh import SshHostKey, SshHostKeyUnread
from checks.catalogue.tls import SuiteClass
from checks.cbom import run_cbom_check
from checks.certificate_file import run_certificate_check
from checks.egress import EgressPolicy, Target
from checks.jwks import run_jwks_check
from checks.readiness import assemble
from checks.report import CheckReport
from checks.ssh import NAME_LISTS, KexInit
from checks.ssh import combine as ssh_combine
from checks.tls.chain_store import anchors_of
from checks.tls.check import combine as tls_combine
from checks.tls.check import plan
from checks.tls.handshake import HandshakeResult
from checks.tls.probes import ClientProbe, Probe, SuiteProbe, VersionProbe
from checks.tls.wire import Outcome, ServerAnswer
from tests.peers.apis import build_spec
from tests.peers.certificates import make_certificate
from tests.peers.jwks import real_jwk

CBOMS = Path(__file__).resolve().parents[1] / "data" / "cbom"
HYBRID, CLASSICAL = 0x11EC, 0x001D  # X25519MLKEM768, X25519


def _tls_answer(probe: Probe) -> ServerAnswer:
    if isinstance(probe, ClientProbe):
        return ServerAnswer(Outcome.SERVER_HELLO, version=0x0304, selected_group=HYBRID)
    if isinstance(probe, VersionProbe):
        if probe.version >= 0x0303:
            return ServerAnswer(Outcome.SERVER_HELLO, version=probe.version)
        return ServerAnswer(Outcome.ALERT)
    if isinstance(probe, SuiteProbe):
        if probe.suite_class is SuiteClass.ECDHE:
            return ServerAnswer(Outcome.SERVER_HELLO, version=0x0303, cipher_suite=0xC02B)
        return ServerAnswer(Outcome.ALERT, alert=40)
    if probe.group in (HYBRID, CLASSICAL):
        # Offered X25519 alone, the server asks for the hybrid group instead.
        return ServerAnswer(Outcome.HELLO_RETRY, selected_group=HYBRID)
    return ServerAnswer(Outcome.ALERT)


def tls(folder: Path) -> CheckReport:
    cert, _ = make_certificate(folder, "ecdsa")
    chain = [x509.load_pem_x509_certificate(cert.read_bytes())]
    handshake = HandshakeResult(
        True, "X25519MLKEM768", "TLSv1.3", "TLS_AES_256_GCM_SHA384", chain=chain
    )
    target = Target("portal.example", 443, "192.0.2.10", socket.AF_INET)
    now = datetime.now(UTC)
    answers = {probe: _tls_answer(probe) for probe in plan()}
    # The operator trusts this self-signed certificate, as an internal service's may be.
    trust = anchors_of(chain, "sample-trust.pem")
    findings, subscores, result = tls_combine(target, answers, handshake, now, trust)
    return assemble("tls", target.label, now, findings, subscores, result.as_details())


def ssh() -> CheckReport:
    lists = {name: [] for name in NAME_LISTS} | {
        "kex_algorithms": ["mlkem768x25519-sha256", "curve25519-sha256"],
        "server_host_key_algorithms": ["ssh-ed25519", "ssh-rsa"],
        "encryption_server_to_client": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
        "mac_server_to_client": ["hmac-sha2-256-etm@openssh.com"],
    }
    host_keys = [
        SshHostKey(
            algorithm="ssh-ed25519",
            key_type="Ed25519",
            key_bits=256,
            fingerprint="SHA256:RvV/ByM/84ddG7D+aCr9Z0u2phY9eRu03ozGaD7nVx0",
            kex="curve25519-sha256",
            signature_verified=True,
        ),
        SshHostKeyUnread(algorithm="ssh-rsa", reason="no answer in time", attempted=True),
    ]
    kexinit = KexInit("SSH-2.0-OpenSSH_9.9", lists)
    findings, subscores, result = ssh_combine(kexinit, "192.0.2.22", host_keys)
    now = datetime.now(UTC)
    return assemble("ssh", "bastion.example:22", now, findings, subscores, result.as_details())


def cert(folder: Path) -> CheckReport:
    path, _ = make_certificate(folder, "rsa2048")
    return run_certificate_check(path.read_bytes(), "portal.pem")


def jwks() -> CheckReport:
    keys = {"keys": [{**real_jwk("mldsa65", "pq-1"), "use": "sig"}]}
    return run_jwks_check(json.dumps(keys).encode(), "jwks.json")


def cbom() -> CheckReport:
    return run_cbom_check((CBOMS / "cbomkit_kafka-cbom.json").read_bytes(), "kafka.cdx.json")


def api(folder: Path) -> CheckReport:
    """A description whose server is plain HTTP: a hard gate fails whatever the score."""
    spec = build_spec(flawed=False)
    spec["servers"] = [{"url": "http://notes.example.police.uk"}]
    path = folder / "openapi.json"
    path.write_text(json.dumps(spec))
    return run_api_check(str(path), EgressPolicy.loopback_only())


def unassessable(kind: str, target: str, **fields: Any) -> CheckReport:
    """A report that could not be assessed, as a stored run (CheckRun.result) holds it."""
    stored = {
        "kind": kind,
        "target": target,
        "started_at": "2026-10-01T09:00:00Z",
        "finished_at": "2026-10-01T09:00:03Z",
        "status": "not_assessable",
    }
    return CheckReport.model_validate({**stored, **fields})


def every_kind(folder: Path) -> dict[str, CheckReport]:
    return {
        "tls": tls(folder / "tls"),
        "ssh": ssh(),
        "cert": cert(folder / "cert"),
        "jwks": jwks(),
        "cbom": cbom(),
        "api": api(folder),
    }
