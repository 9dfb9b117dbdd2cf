"""`openssl s_server` (the system OpenSSL, 3.x) on a free loopback port: a TLS stack other than
the one the check is built on, configured as an administrator would, with its own options."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.peers.processes import free_port, listening


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
    with listening(process, port, f"openssl s_server {' '.join(options)}", timeout) as ready:
        yield ready
