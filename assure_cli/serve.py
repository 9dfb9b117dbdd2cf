"""assure serve: the Streamlit app, its background workers and the partner API, supervised.

The supervisor stays for as long as the platform runs, so it imports the standard library,
Typer and nothing else of ours that is heavy: the schema is brought up to date by a child
(`assure db upgrade`), and an exited worker's jobs are settled by another (`assure
settle-worker`); Alembic, SQLAlchemy and huey load in those short processes and leave with them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import typer

from assure_cli.supervision import Child, RestartPolicy, describe_exit, supervise
from kernel.upload_limit import LARGEST_UPLOAD_MIB
from posture.jobs.workers import new_token

ASSURE = (sys.executable, "-m", "assure_cli.main")

# Error details stay on the server; users see a generic message. XSRF protection stays on. A
# table's own "Download as CSV" is off: it writes cells as typed, so a title beginning "=" would
# open as a live formula; every download goes through the safe export (posture/exports.py).
STREAMLIT_FLAGS = (
    "--server.headless=true",
    "--server.enableXsrfProtection=true",
    "--server.enableCORS=true",
    # In MiB: the largest any uploader takes; each states and enforces its own below it.
    f"--server.maxUploadSize={LARGEST_UPLOAD_MIB}",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
    "--client.toolbarMode=minimal",
    "--client.disableDataExport=true",
    "--global.developmentMode=false",
    # The theme, for WCAG AA: captions (and inline code in them) are the text colour at 60%
    # opacity, which on white passes 4.5:1 only from a near-black text colour; white on the
    # primary colour (buttons) passes too. The same as .streamlit/config.toml, which Streamlit
    # reads only from the working directory.
    "--theme.base=light",
    "--theme.primaryColor=#0072B2",
    "--theme.textColor=#0B0C0C",
    "--theme.linkColor=#0059A0",
    "--theme.codeTextColor=#0B0C0C",
)

# Settling reads and writes a few job rows; a child still running after this is stuck (a
# locked database) and is killed, so the supervisor goes back to watching the others.
SETTLE_TIMEOUT = 60.0


def app_script() -> Path:
    """The web server's entry: the Streamlit app wrapped with the session cookie's route."""
    spec = importlib.util.find_spec("streamlit_web")
    if spec is None or spec.origin is None:
        raise RuntimeError("streamlit_web module not found; reinstall policetech-assure")
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


def api_command(host: str, port: int, workers: int) -> list[str]:
    return [*ASSURE, "api", "--host", host, "--port", str(port), "--workers", str(workers)]


def upgrade_database() -> str:
    """Bring the schema up to date in a child and return its revision; a failure (its message
    is on stderr already) ends serve with the child's exit status."""
    done = subprocess.run(  # noqa: S603 (our interpreter, our arguments)
        [*ASSURE, "db", "upgrade"], stdout=subprocess.PIPE, text=True, check=False
    )
    if done.returncode != 0:
        raise typer.Exit(done.returncode)
    # Its one line ends with the revision: "database <url> is at schema <revision>".
    words = done.stdout.split()
    return words[-1] if words else "unknown"


def validate_schedules() -> None:
    """Check the schedule book in a child (the supervisor loads no domain code); its one-line
    refusal is on stderr already."""
    done = subprocess.run(  # noqa: S603 (our interpreter, our arguments)
        [*ASSURE, "schedule", "validate"], stdout=subprocess.DEVNULL, check=False
    )
    if done.returncode != 0:
        raise typer.Exit(done.returncode)


# The app and the API restart too, but a child that dies five times in a minute will not stay
# up (a port in use, a broken install): serve stops and says so rather than spin.
MUST_STAY_UP = RestartPolicy(give_up_after=5, window=60.0)


def _starter(command: list[str]) -> Callable[[], subprocess.Popen[bytes]]:
    return lambda: subprocess.Popen(command)  # noqa: S603 (our interpreter, our arguments)


@dataclass
class WorkerProcesses:
    """`assure worker` children. Each start gets its own token, so once a worker has exited its
    claims can be named for certain and its jobs retried or failed at once."""

    tokens: dict[int, str] = field(default_factory=dict)

    def start(self, metrics_port: int | None = None) -> subprocess.Popen[bytes]:
        token = new_token()
        command = [*ASSURE, "worker", "--start-token", token]
        if metrics_port is not None:
            command += ["--metrics-port", str(metrics_port)]
        process = subprocess.Popen(command)  # noqa: S603
        self.tokens[process.pid] = token
        return process

    def settle_jobs(self, process: subprocess.Popen[bytes]) -> str:
        """Retry or fail the exited worker's jobs (`assure settle-worker`); returns what was
        done, for the supervisor's log line."""
        token = self.tokens.pop(process.pid)
        cause = f"its worker {describe_exit(process.returncode)}"
        command = [*ASSURE, "settle-worker", "--start-token", token, "--pid", str(process.pid)]
        done = subprocess.run(  # noqa: S603
            [*command, "--cause", cause],
            capture_output=True,
            text=True,
            timeout=SETTLE_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise RuntimeError(f"settle-worker: {lines[-1]}")
        return done.stdout.strip()


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8501, min=1, max=65535, help="Port for the app."),
    workers: int = typer.Option(1, min=0, max=16, help="Background worker processes to start."),
    api_port: int | None = typer.Option(
        None, "--api-port", min=1, max=65535, help="Also serve the partner API on this port."
    ),
    worker_metrics_port: int | None = typer.Option(
        None,
        "--worker-metrics-port",
        min=1,
        max=65535 - 16,
        help="Worker n serves /metrics on 127.0.0.1 at this port + n - 1.",
    ),
) -> None:
    """Upgrade the database if needed, then run the app and its background worker."""
    revision = upgrade_database()
    if workers:
        # A schedules file the schema refuses would stop every worker at start, over and over:
        # refuse it once, here, naming the file and the field.
        validate_schedules()
    typer.echo(f"database at schema {revision}; app on http://{host}:{port}")
    worker_processes = WorkerProcesses()
    children = [Child("app", _starter(streamlit_command(host, port)), MUST_STAY_UP)]
    children += [
        Child(
            f"worker {n}",
            partial(
                worker_processes.start,
                None if worker_metrics_port is None else worker_metrics_port + n - 1,
            ),
            on_exit=worker_processes.settle_jobs,
        )
        for n in range(1, workers + 1)
    ]
    if api_port is not None:
        typer.echo(f"partner API on http://{host}:{api_port}/v1")
        children.append(
            Child("partner API", _starter(api_command(host, api_port, 1)), MUST_STAY_UP)
        )
    if supervise(children):
        raise typer.Exit(1)
