"""Inside the sandbox: run the one check an order names. The only place a check kind is
turned into a call, so the CLI and the worker reach every check the same way."""

from __future__ import annotations

from pathlib import Path

from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.sandbox.request import ChildOrder


def _input(order: ChildOrder) -> bytes | None:
    return None if order.input_file is None else Path(order.input_file).read_bytes()


def execute(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    check = order.check
    if check.kind == "tls":
        from checks.tls.check import run_tls_check

        return run_tls_check(check.target, policy, timeout=check.timeout)
    if check.kind == "ssh":
        from checks.ssh import run_ssh_check

        return run_ssh_check(check.target, policy, timeout=check.timeout)
    if check.kind == "api":
        from checks.api.check import run_api_check
        from checks.api.live import LiveSettings

        source = order.input_file or check.target
        live = LiveSettings(**(check.live or {}))
        report = run_api_check(source, policy, check.base_url, list(check.tokens), live)
        if order.input_file and report.target == source:
            # The file's own name, not where the sandbox happened to put it.
            report = report.model_copy(update={"target": check.file_name or "upload"})
        return report
    raw = _input(order)
    name = check.file_name or check.target or check.kind
    if raw is None:
        from checks.fetch import fetch

        raw = fetch(check.target, policy, timeout=check.timeout)
    if check.kind == "cert":
        from checks.certificate_file import run_certificate_check

        return run_certificate_check(raw, name)
    if check.kind == "jwks":
        from checks.jwks import run_jwks_check

        return run_jwks_check(raw, name)
    from checks.cbom import run_cbom_check

    return run_cbom_check(raw, name)
