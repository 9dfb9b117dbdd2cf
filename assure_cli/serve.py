"""assure serve / assure worker: the Streamlit app and its background workers."""

from __future__ import annotations

import importlib.util
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import typer

from assure_cli.api import api_command
from assure_cli.context import friendly_errors, open_database
from posture.jobs.queue import build_queue
from posture.storage import migrate

# Error details stay on the server; users see a generic message. XSRF protection stays on.
STREAMLIT_FLAGS = (
    "--server.headless=true",
    "--server.enableXsrfProtection=true",
    "--server.enableCORS=true",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
    "--client.toolbarMode=minimal",
    "--global.developmentMode=false",
)


def app_script() -> Path:
    spec = importlib.util.find_spec("streamlit_app")
    if spec is None or spec.origin is None:
        raise RuntimeError("streamlit_app module not found; reinstall policetech-assure")
    return Path(spec.origin)


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_script()),
        f"--server.address={host}",
        f"--server.port={port}",
        *STREAMLIT_FLAGS,
    ]


@friendly_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8501, min=1, max=65535, help="Port for the app."),
    workers: int = typer.Option(1, min=0, max=16, help="Background worker processes to start."),
    api_port: int | None = typer.Option(
        None, "--api-port", min=1, max=65535, help="Also serve the partner API on this port."
    ),
) -> None:
    """Upgrade the database if needed, then run the app and its background worker."""
    with open_database(require_current=False) as db:
        revision = migrate.upgrade(db.engine)
    typer.echo(f"database at schema {revision}; app on http://{host}:{port}")
    children = [subprocess.Popen(streamlit_command(host, port))]  # noqa: S603
    children += [
        subprocess.Popen([sys.executable, "-m", "assure_cli.main", "worker"])
        for _ in range(workers)
    ]
    if api_port is not None:
        typer.echo(f"partner API on http://{host}:{api_port}/v1")
        children.append(subprocess.Popen(api_command(host, api_port, 1)))  # noqa: S603
    _supervise(children)


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    """Run until any child exits or we are told to stop; then stop the others cleanly."""
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [child.returncode for child in children if child.returncode not in (0, -2, 130)]
    if failed and not stopping:
        raise typer.Exit(1)


@friendly_errors
def worker(
    threads: int = typer.Option(2, min=1, max=32, help="Worker threads in this process."),
) -> None:
    """Run a background worker that takes jobs from the queue."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open_database() as db:
        queue = build_queue(db.settings).huey
    # Users wait on these jobs in the app, so an idle worker polls at least once a second.
    queue.create_consumer(workers=threads, worker_type="thread", max_delay=1.0).run()
