"""Start a server process on a free loopback port and wait until it answers; stop it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(
    argv: list[str],
    env: dict[str, str],
    ready_url: str,
    timeout: float = 60,
    console: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` until the block ends; the block starts once `ready_url` answers. With
    `console`, what the process prints goes to that file."""
    output = console.open("wb") if console else subprocess.DEVNULL
    process = subprocess.Popen(argv, env=env, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2):  # noqa: S310 (loopback)
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"{argv[2:4]} exited with {process.returncode}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ready_url} did not answer in {timeout} s") from None
                time.sleep(0.3)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if console:
            output.close()


@contextmanager
def listening(
    process: subprocess.Popen[bytes], port: int, name: str, timeout: float = 10
) -> Iterator[int]:
    """`port` once `process` accepts connections on it, until the block ends; then the process
    is stopped (terminated, killed if it lingers). A process that exits first is an error
    carrying what it printed on stderr."""
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode()[:500] if process.stderr else ""
                raise RuntimeError(f"{name} exited: {error}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen within {timeout} s")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()
