"""A check that needs more memory, CPU or time than its sandbox allows ends as a not
assessable run with an INPUT-LIMIT finding naming the limit; the caller carries on."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.report import CheckReport, ReportStatus
from checks.sandbox.limits import MIB, SandboxLimits
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from tests.peers.cboms import unique_cbom
from tests.peers.servers import LoopbackServer

LOOPBACK = EgressPolicy.loopback_only()
CBOM = SandboxedCheck(kind="cbom", file_name="inventory.json")


@pytest.fixture(scope="module")
def large_cbom() -> bytes:
    return unique_cbom(max_bytes=19 * MIB)


def _limit(report: CheckReport) -> dict:
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert [f.code for f in report.findings] == ["INPUT-LIMIT"]
    return report.findings[0].evidence


def test_an_input_that_needs_more_memory_than_allowed_ends_at_the_memory_limit(
    large_cbom: bytes,
) -> None:
    small = run_sandboxed(CBOM, LOOPBACK, unique_cbom(count=5))
    assert small.status is ReportStatus.COMPLETED
    # The interpreter and its modules fit with room to spare; the 19 MB file does not.
    needed = small.details["sandbox"]["peak_address_space_bytes"]
    tight = SandboxLimits(memory_bytes=needed + 16 * MIB)
    evidence = _limit(run_sandboxed(CBOM, LOOPBACK, large_cbom, tight))
    assert evidence["limit"] == "memory"
    assert evidence["value"] == tight.memory_bytes


def test_an_input_that_needs_more_cpu_than_allowed_ends_at_the_cpu_limit(
    large_cbom: bytes,
) -> None:
    report = run_sandboxed(CBOM, LOOPBACK, large_cbom, SandboxLimits(cpu_seconds=1))
    assert _limit(report)["limit"] == "cpu"


def _hang(sock: socket.socket) -> None:
    time.sleep(30)


def test_a_peer_that_hangs_past_the_wall_clock_limit_ends_the_run_in_time() -> None:
    with LoopbackServer(_hang) as server:
        check = SandboxedCheck(kind="ssh", target=f"127.0.0.1:{server.port}", timeout=30)
        started = time.monotonic()
        report = run_sandboxed(check, LOOPBACK, limits=SandboxLimits(wall_seconds=2))
        elapsed = time.monotonic() - started
    assert _limit(report)["limit"] == "time"
    assert elapsed < 6


def test_the_caller_learns_what_the_child_cost() -> None:
    report = run_sandboxed(CBOM, LOOPBACK, unique_cbom(count=5))
    cost = report.details["sandbox"]
    assert 0 < cost["peak_memory_bytes"] < SandboxLimits().memory_bytes
    assert cost["seconds"] > 0


CALLER = """
import sys
from checks.egress import EgressPolicy
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
check = SandboxedCheck(kind="ssh", target=sys.argv[1], timeout=30)
run_sandboxed(check, EgressPolicy.loopback_only())
"""


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def test_a_sandboxed_check_dies_with_a_caller_killed_by_sigkill() -> None:
    with LoopbackServer(_hang) as server:
        caller = subprocess.Popen([sys.executable, "-c", CALLER, f"127.0.0.1:{server.port}"])
        try:
            deadline = time.monotonic() + 30
            while not _children(caller.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            (child,) = _children(caller.pid)
            time.sleep(1)  # let the child get past its start-up into the check
            caller.kill()
            caller.wait(timeout=10)
            deadline = time.monotonic() + 5
            while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
                _reap_if_ours(child)
                time.sleep(0.05)
            assert not _alive(child), "the sandboxed check outlived its caller"
        finally:
            if caller.poll() is None:
                caller.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _reap_if_ours(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def test_twenty_checks_at_once_each_get_their_own_answer() -> None:
    """Each sandboxed run is its own process and folder: concurrent callers (worker threads)
    never see each other's reports, and a hostile input among them harms only its own run."""
    inputs = [unique_cbom(count=n + 1) for n in range(19)] + [b"[" * 100_000]
    with ThreadPoolExecutor(max_workers=20) as pool:
        reports = list(pool.map(lambda raw: run_sandboxed(CBOM, LOOPBACK, raw), inputs))
    assert [r.status for r in reports[:19]] == [ReportStatus.COMPLETED] * 19
    assert [len(r.details["assets"]) for r in reports[:19]] == list(range(1, 20))
    assert reports[19].status is ReportStatus.NOT_ASSESSABLE
    assert [f.code for f in reports[19].findings] == ["CBOM-004"]
