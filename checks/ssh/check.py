"""The SSH check: probe the server, combine what it saw, and report."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.catalogue.ssh import SshResult
from checks.egress import EgressPolicy, split_host_port
from checks.findings import finding
from checks.readiness import assemble
from checks.report import CheckReport
from checks.ssh.judge import combine
from checks.ssh.probe import probe
from checks.ssh.wire import SshProtocolError


def run_ssh_check(
    target_text: str, policy: EgressPolicy, timeout: float = 5.0, now: datetime | None = None
) -> CheckReport:
    started = datetime.now(UTC)
    host, port = split_host_port(target_text, 22)
    target = policy.resolve(host, port)
    moment = now or started
    try:
        seen = probe(target, timeout)
    except SshProtocolError as exc:
        findings, subscores = [finding(exc.code, detail=str(exc))], {}
        result = SshResult(address=target.address)
    else:
        findings, subscores, result = combine(
            seen.kexinit, target.address, seen.host_keys, seen.dh_groups, moment, host
        )
    details = result.as_details()
    return assemble("ssh", target.label, started, findings, subscores, details, moment.date())
