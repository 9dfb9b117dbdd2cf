"""assure serve / assure worker: the Streamlit app and its background workers."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer

from assure_cli.api import api_command
from assure_cli.context import friendly_errors, open_database
from assure_cli.supervision import Child, RestartPolicy, describe_exit, supervise
from posture.jobs.queue import JobQueue, build_queue
from posture.jobs.workers import new_token, worker_identity
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


# The app and the API restart too, but a child that dies five times in a minute will not stay
# up (a port in use, a broken install): serve stops and says so rather than spin.
MUST_STAY_UP = RestartPolicy(give_up_after=5, window=60.0)


def _starter(command: list[str]) -> Callable[[], subprocess.Popen[bytes]]:
    return lambda: subprocess.Popen(command)  # noqa: S603 (our interpreter, our arguments)


@dataclass
class WorkerProcesses:
    """`assure worker` children. Each start gets its own token, so once a worker has exited its
    claims can be named for certain and its jobs retried or failed at once."""

    queue: JobQueue
    tokens: dict[int, str] = field(default_factory=dict)

    def start(self) -> subprocess.Popen[bytes]:
        token = new_token()
        command = [sys.executable, "-m", "assure_cli.main", "worker", "--start-token", token]
        process = subprocess.Popen(command)  # noqa: S603
        self.tokens[process.pid] = token
        return process

    def settle_jobs(self, process: subprocess.Popen[bytes]) -> str:
        identity = worker_identity(self.tokens.pop(process.pid), pid=process.pid)
        cause = f"its worker {describe_exit(process.returncode)}"
        requeued, failed = self.queue.release_worker(identity, cause)
        parts = [f"requeued job {i}" for i in requeued] + [f"failed job {i}" for i in failed]
        return ", ".join(parts)


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
        settings = db.settings
    typer.echo(f"database at schema {revision}; app on http://{host}:{port}")
    worker_processes = WorkerProcesses(build_queue(settings))
    children = [Child("app", _starter(streamlit_command(host, port)), MUST_STAY_UP)]
    children += [
        Child(f"worker {n}", worker_processes.start, on_exit=worker_processes.settle_jobs)
        for n in range(1, workers + 1)
    ]
    if api_port is not None:
        typer.echo(f"partner API on http://{host}:{api_port}/v1")
        children.append(
            Child("partner API", _starter(api_command(host, api_port, 1)), MUST_STAY_UP)
        )
    if supervise(children):
        raise typer.Exit(1)


@friendly_errors
def worker(
    threads: int = typer.Option(2, min=1, max=32, help="Worker threads in this process."),
    start_token: str = typer.Option(
        "",
        "--start-token",
        hidden=True,
        help="Set by assure serve: the token this worker's job claims carry.",
    ),
) -> None:
    """Run a background worker that takes jobs from the queue."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with open_database() as db:
        queue = build_queue(db.settings, worker_token=start_token or None).huey
    # Users wait on these jobs in the app, so an idle worker polls at least once a second.
    _ready_consumer()(queue, workers=threads, worker_type="thread", max_delay=1.0).run()


def _ready_consumer() -> type:
    from huey.consumer import Consumer  # only a worker needs huey's consumer

    class ReadyConsumer(Consumer):  # type: ignore[misc]
        """huey's consumer, saying when it is ready: huey logs "started" before it installs its
        signal handlers, so a SIGTERM in between kills the worker instead of stopping it
        cleanly, and whoever waits for the worker (the supervisor's tests) must know when."""

        def _set_signal_handlers(self) -> None:
            super()._set_signal_handlers()
            self._logger.info("assure worker ready: SIGTERM stops it cleanly")

    return ReadyConsumer
