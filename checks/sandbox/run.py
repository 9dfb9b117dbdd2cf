"""Run a check in the sandbox and read its report back.

The caller (the CLI, a worker thread) only writes files and waits: every byte the supplier
controls is parsed in the child, so the worst a hostile input can do is end that child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from checks.catalogue import plugin_file, spec_for
from checks.egress import EgressPolicy, EgressRefused
from checks.findings import finding
from checks.report import CheckReport, ReportStatus
from checks.sandbox.environment import child_environment
from checks.sandbox.limits import SandboxLimits
from checks.sandbox.request import ChildFailure, ChildOrder, SandboxedCheck, safe_file_name
from kernel.errors import AssureError
from kernel.settings import load_settings

log = logging.getLogger("assure.sandbox")

STDERR_TAIL = 4000


class SandboxFailure(AssureError):
    """The check process failed in a way that is not the input's fault; the log has details."""


def limits_for(check: SandboxedCheck, base: SandboxLimits | None = None) -> SandboxLimits:
    """The API check's live run has its own budget; the sandbox waits for it, not past it."""
    base = base or SandboxLimits()
    if spec_for(check.kind).live and check.base_url:
        from checks.api.live import LiveSettings
        from checks.api.phases import wall_seconds

        return base.with_wall(wall_seconds(LiveSettings(**(check.live or {}))))
    return base


def limit_report(
    check: SandboxedCheck, limit: str, detail: str, value: float | None
) -> CheckReport:
    now = datetime.now(UTC)
    evidence: dict[str, object] = {"limit": limit, "detail": detail}
    if value is not None:
        evidence["value"] = value
    return CheckReport(
        kind=check.kind,
        target=check.file_name or check.target,
        started_at=now,
        finished_at=now,
        status=ReportStatus.NOT_ASSESSABLE,
        findings=[finding("INPUT-LIMIT", **evidence)],
        details={"sandbox": {"limit": limit}},
    )


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _read_outcome(
    check: SandboxedCheck, folder: Path, process: subprocess.Popen[bytes], limits: SandboxLimits
) -> CheckReport:
    report_path, failure_path = folder / "report.json", folder / "failure.json"
    if report_path.exists():
        if report_path.stat().st_size > limits.output_bytes:
            return limit_report(check, "output", "the report is too large", limits.output_bytes)
        try:
            return CheckReport.model_validate_json(report_path.read_bytes())
        except ValidationError as exc:
            raise SandboxFailure("the check process wrote an unreadable report") from exc
    if failure_path.exists():
        failure = ChildFailure.model_validate_json(failure_path.read_bytes())
        if failure.kind == "limit":
            value = limits.memory_bytes if failure.limit == "memory" else None
            return limit_report(check, failure.limit or "unknown", failure.message, value)
        if failure.kind == "refused" and failure.error_type == "EgressRefused":
            raise EgressRefused(failure.message)
        if failure.kind == "refused":
            raise AssureError(failure.message)
        if failure.kind == "invalid":
            raise ValueError(failure.message)
    tail = _stderr_tail(folder)
    code = process.returncode
    if code is not None and code < 0:
        name = _signal_name(code)
        if name in ("SIGXCPU", "SIGKILL"):
            return limit_report(check, "cpu", f"stopped by {name}", limits.cpu_seconds)
        log.error("sandboxed %s check ended by %s: %s", check.kind, name, tail)
        return limit_report(check, "crash", f"the check process was ended by {name}", None)
    log.error("sandboxed %s check exited %s: %s", check.kind, code, tail)
    # Whatever raised it, possibly something the peer or file sent, nothing was assessed: a
    # not-assessable run says so and replaces older evidence, where a failed job would leave
    # the previous clean run counting. The traceback stays in the log.
    return internal_error_report(check)


def internal_error_report(check: SandboxedCheck) -> CheckReport:
    now = datetime.now(UTC)
    return CheckReport(
        kind=check.kind,
        target=check.file_name or check.target,
        started_at=now,
        finished_at=now,
        status=ReportStatus.NOT_ASSESSABLE,
        findings=[finding("CHECK-001")],
        details={"sandbox": {"error": "internal"}},
    )


def _stderr_tail(folder: Path) -> str:
    path = folder / "stderr.log"
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - STDERR_TAIL))
        return handle.read().decode("utf-8", "replace")


def _trust_store() -> str | None:
    store = load_settings().tls_trust_store
    return str(store) if store is not None else None


def run_sandboxed(
    check: SandboxedCheck,
    policy: EgressPolicy,
    file_bytes: bytes | None = None,
    limits: SandboxLimits | None = None,
) -> CheckReport:
    """Run one check in a fresh child process; a limit it hits becomes an INPUT-LIMIT report,
    a refusal it makes is raised here as it would be in-process."""
    limits = limits or limits_for(check)
    with tempfile.TemporaryDirectory(prefix="assure-check-") as name:
        folder = Path(name)
        input_file = None
        if file_bytes is not None:
            inputs = folder / "input"
            inputs.mkdir(mode=0o700)
            path = inputs / safe_file_name(check.file_name, check.kind)
            path.write_bytes(file_bytes)
            input_file = str(path)
        order = ChildOrder(
            check=check,
            egress_allow=tuple(str(n) for n in policy.allow),
            dns_servers=policy.dns_servers,
            limits=limits.as_dict(),
            input_file=input_file,
            parent_pid=os.getpid(),
            check_module=plugin_file(check.kind),
            tls_trust_store=_trust_store(),
        )
        descriptor = os.open(folder / "order.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(order.model_dump_json())
        with (folder / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                [sys.executable, "-I", "-m", "checks.sandbox.child", str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=folder,
                env=child_environment(),
                start_new_session=True,
            )
            started = time.monotonic()
            try:
                usage = _wait(process, limits.wall_seconds)
            finally:
                # Whatever the child left running (a schemathesis run) goes with it.
                _kill_group(process)
        if usage is None:
            report = limit_report(
                check, "time", "the check ran past its time limit", limits.wall_seconds
            )
        else:
            report = _read_outcome(check, folder, process, limits)
        cost = ChildCost(
            time.monotonic() - started, usage, _memory(folder), _guard_refusals(folder)
        )
        log.debug("sandboxed %s check: %s", check.kind, cost.as_details())
        details = {
            **report.details,
            "sandbox": {**report.details.get("sandbox", {}), **cost.as_details()},
        }
        return report.model_copy(update={"details": details})


def _guard_refusals(folder: Path) -> list[str]:
    """Connections the guard refused in the check process. A check vets its targets before
    it connects, so any line here means code that did not: logged loudly, kept as evidence."""
    path = folder / "egress-refusals.jsonl"
    if not path.exists() or path.stat().st_size == 0:
        return []
    lines = path.read_text("utf-8", "replace").splitlines()[:50]
    log.warning("the sandbox guard refused %d connection(s): %s", len(lines), lines[:3])
    return lines


def _memory(folder: Path) -> dict[str, int]:
    """The child's own high-water marks, when it lived to write them."""
    path = folder / "cost.json"
    if not path.exists() or path.stat().st_size > 1000:
        return {}
    try:
        found = json.loads(path.read_text("utf-8"))
    except ValueError:
        return {}
    return {k: int(v) for k, v in found.items() if isinstance(v, int)}


@dataclass(frozen=True)
class ChildCost:
    seconds: float
    usage: resource.struct_rusage | None
    memory: dict[str, int]
    refused: list[str]

    def as_details(self) -> dict[str, object]:
        cost: dict[str, object] = {"seconds": round(self.seconds, 3), **self.memory}
        if self.refused:
            cost["egress_refused"] = self.refused
        if self.usage is not None:
            cost["cpu_seconds"] = round(self.usage.ru_utime + self.usage.ru_stime, 3)
        return cost


def _wait(process: subprocess.Popen[bytes], timeout: float) -> resource.struct_rusage | None:
    """Reap the child with its own resource usage; None when it outlives `timeout`.

    A pidfd becomes readable the moment the child exits, so the caller learns of it at once;
    polling with a growing pause (the fallback, where pidfds are missing) learns of it up to
    0.1 s late, which a short check such as `assure check tls` would pay in full."""
    deadline = time.monotonic() + timeout
    pidfd = _pidfd(process.pid)
    exited = select.poll()
    if pidfd is not None:
        exited.register(pidfd, select.POLLIN)
    pause = 0.005
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                return usage
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if pidfd is not None:
                exited.poll(max(1, math.ceil(remaining * 1000)))
            else:
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, 0.1)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd_open (not Linux, or a kernel before 5.3)
        return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        process.wait()
