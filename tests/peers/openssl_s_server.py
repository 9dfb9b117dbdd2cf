"""`openssl s_server` (the system OpenSSL, 3.x) on a free loopback port: a TLS stack other than
the one the check is built on, configured as an administrator would, with its own options."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.peers.processes import free_port


@contextlib.contextmanager
def s_server(cert: Path, key: Path, *options: str, timeout: float = 10) -> Iterator[int]:
    """The port of an `openssl s_server` serving `cert` with `options` until the block ends.
    It serves one connection at a time, which the check's few concurrent probes wait for."""
    port = free_port()
    argv = ["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}"]
    argv += ["-cert", str(cert), "-key", str(key), *options]
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"openssl s_server {options} exited: {error}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"openssl s_server did not listen within {timeout} s")
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
