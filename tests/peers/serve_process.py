"""`assure serve` as a real process for tests: its output collected, its children found through
/proc, and everything it started killed when the test ends, whatever happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
        return response.status, response.read().decode()


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of `pid` and their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, IndexError):
            # The command name in field 2 may hold spaces; the parent pid follows its ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[1]) == pid:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = command
    return found


def alive(pid: int) -> bool:
    with suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


def wait_until(condition: Callable[[], T], timeout: float, what: str) -> T:
    """Poll `condition` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class RunningServe:
    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def children(self, marker: str) -> dict[int, str]:
        return {p: c for p, c in children_of(self.process.pid).items() if marker in c}

    def healthy(self) -> bool:
        try:
            return get(f"http://127.0.0.1:{self.port}/_stcore/health") == (200, "ok")
        except OSError:
            return False


@contextmanager
def assure_serve(env: dict[str, str], port: int, *extra: str) -> Iterator[RunningServe]:
    """Yields once serve's app answers its health check; stops it with SIGTERM at the end and
    kills its whole process group if it does not stop in time."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so nothing it started outlives the test
    )
    serve = RunningServe(process, port)
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: serve.lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: serve.healthy() or process.poll() is not None, 90, "the app")
        assert serve.healthy(), serve.output
        yield serve
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        reader.join(timeout=5)
