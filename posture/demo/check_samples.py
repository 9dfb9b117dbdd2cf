"""Demo SSH, CBOM and API reports, each written by its check's own code from a planted input.

SSH goes through the check's combine step over a planted KEXINIT and host key (as a server on
loopback would give them); CBOM and API run their checks on documents from check_inputs.yaml
(the API check lint-only, as a supplier's published description is checked without a live run).
TLS is in tls_samples.py. No network is touched.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.catalogue.ssh import SshHostKey, SshResult
from checks.egress import EgressPolicy
from checks.findings import finding
from checks.readiness import assemble
from checks.report import CheckReport
from checks.ssh import NAME_LISTS, KexInit
from checks.ssh import combine as ssh_combine
from posture.demo.estate_data import demo_data
from posture.demo.tls_samples import tls_report

SSH_ADDRESS = "192.0.2.22"
STRICT_KEX = "kex-strict-s-v00@openssh.com"
ED25519_KEY = SshHostKey(
    algorithm="ssh-ed25519",
    key_type="Ed25519",
    key_bits=256,
    fingerprint="SHA256:RvV/ByM/84ddG7D+aCr9Z0u2phY9eRu03ozGaD7nVx0",
    kex="curve25519-sha256",
    signature_verified=True,
)

# name: (banner, key exchanges, ciphers); None: the endpoint did not answer.
SSH_SERVERS: dict[str, tuple[str, list[str], list[str]] | None] = {
    "pq-kex": (
        "SSH-2.0-OpenSSH_9.9",
        [
            "mlkem768x25519-sha256",
            "sntrup761x25519-sha512@openssh.com",
            "curve25519-sha256",
            STRICT_KEX,
        ],
        ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"],
    ),
    "classical": (
        "SSH-2.0-OpenSSH_8.9p1",
        ["curve25519-sha256", "ecdh-sha2-nistp256", STRICT_KEX],
        ["aes256-gcm@openssh.com", "aes128-ctr"],
    ),
    # No strict key exchange with ChaCha20-Poly1305: open to Terrapin.
    "terrapin": (
        "SSH-2.0-OpenSSH_9.3",
        ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"],
        ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
    ),
    "unreachable": None,
}


def ssh_report(variant: str, target: str, moment: datetime) -> CheckReport:
    server = SSH_SERVERS[variant]
    if server is None:
        # As run_ssh_check records an endpoint that refuses the connection.
        findings = [finding("NET-001", detail=f"{SSH_ADDRESS}: connection refused")]
        details = SshResult(address=SSH_ADDRESS).as_details()
        return assemble("ssh", target, moment, findings, {}, details, moment.date())
    banner, kex, ciphers = server
    lists = {name: [] for name in NAME_LISTS} | {
        "kex_algorithms": kex,
        "server_host_key_algorithms": ["ssh-ed25519"],
        "encryption_server_to_client": ciphers,
        "mac_server_to_client": ["hmac-sha2-256-etm@openssh.com"],
    }
    host = target.rsplit(":", 1)[0]
    findings, subscores, result = ssh_combine(
        KexInit(banner, lists), SSH_ADDRESS, [ED25519_KEY], (), moment, host
    )
    return assemble("ssh", target, moment, findings, subscores, result.as_details(), moment.date())


def cbom_document(variant: str) -> dict[str, Any]:
    components = [
        {
            "type": "cryptographic-asset",
            "bom-ref": f"crypto/algorithm/{name.lower()}",
            "name": name,
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": primitive, **extra},
            },
        }
        for name, primitive, extra in demo_data("check_inputs.yaml")["cboms"][variant]
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": "Demo product"}},
        "components": components,
    }


def cbom_report(variant: str, source: str, moment: datetime) -> CheckReport:
    from checks.cbom import run_cbom_check

    raw = json.dumps(cbom_document(variant)).encode()
    return _at(run_cbom_check(raw, source, moment), source, moment)


def api_report(variant: str, url: str, moment: datetime) -> CheckReport:
    from checks.api.check import run_api_check

    spec = demo_data("check_inputs.yaml")["openapi"][variant]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "openapi.json"
        path.write_text(json.dumps(spec), "utf-8")
        report = run_api_check(str(path), EgressPolicy.loopback_only())
    return _at(report, url, moment)


def _at(report: CheckReport, target: str, moment: datetime) -> CheckReport:
    """The report as if run on `target` at `moment`: the check stamps the wall clock."""
    return report.model_copy(
        update={"target": target, "started_at": moment, "finished_at": moment.astimezone(UTC)}
    )


VARIANTS: dict[str, tuple[str, ...]] = {
    "tls": ("pq-preferred", "pq-follows-client", "classical", "legacy", "unreachable"),
    "ssh": tuple(SSH_SERVERS),
    "api": ("secured", "flawed"),
    "cbom": ("pq-ready", "quantum-vulnerable", "broken"),
}
WRITERS = {"tls": tls_report, "ssh": ssh_report, "api": api_report, "cbom": cbom_report}


def sample_report(kind: str, variant: str, target: str, moment: datetime) -> CheckReport:
    return WRITERS[kind](variant, target, moment)
