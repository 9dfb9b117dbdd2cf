"""`assure serve` brings up the app, a worker and the partner API on a fresh data directory,
and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.peers.processes import free_port

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
        return response.status, response.read().decode()


def test_serve_starts_app_worker_and_api_then_stops(sqlite_env: dict[str, str]) -> None:
    port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assure_cli.main",
            "serve",
            "--port",
            str(port),
            "--api-port",
            str(api_port),
        ],
        env=sqlite_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/_stcore/health")
                break
            except OSError:
                time.sleep(0.5)
        assert health == (200, "ok")
        status, body = _get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert "<html" in body.lower()
        while time.monotonic() < deadline and "Huey consumer started" not in "".join(lines):
            time.sleep(0.2)
        document = None
        while time.monotonic() < deadline and document is None:
            try:
                document = _get(f"http://127.0.0.1:{api_port}/openapi.json")
            except OSError:
                time.sleep(0.3)
        assert document is not None
        assert '"/v1/products"' in document[1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=5)
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "database at schema" in output
    assert "Huey consumer started" in output
