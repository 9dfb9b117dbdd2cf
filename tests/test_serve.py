"""`assure serve` brings up the app, a worker and the partner API on a fresh data directory,
restarts a worker that dies without disturbing the app, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.jobs.workers import worker_identity
from posture.storage.engine import transaction
from posture.storage.models import Job
from posture.storage.models.enums import RunStatus
from tests.cli import assure
from tests.identity.world import World
from tests.peers.processes import free_port
from tests.peers.serve_process import RunningServe, alive, assure_serve, wait_until
from tests.peers.workers import worker_env

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


def _started(serve: RunningServe, workers: int) -> bool:
    return serve.output.count("assure worker ready") >= workers


def test_serve_restarts_a_worker_that_dies_keeps_the_app_up_and_stops_all_on_sigterm(
    sqlite_env: dict[str, str],
) -> None:
    with assure_serve(sqlite_env, free_port()) as serve:
        workers = wait_until(lambda: serve.children("assure_cli.main worker"), 30, "a worker")
        apps = serve.children("streamlit")
        (first,) = workers
        wait_until(lambda: _started(serve, 1), 30, "the worker to start")
        os.kill(first, signal.SIGKILL)
        restarted = wait_until(
            lambda: set(serve.children("assure_cli.main worker")) - {first}, 30, "a new worker"
        )
        assert f"worker 1 (pid {first}) was killed by SIGKILL; restarting in 1 s" in serve.output
        assert serve.healthy()
        assert serve.children("streamlit") == apps
        # Even a clean exit brings it back, after a longer pause for the second exit in a row.
        (second,) = restarted
        wait_until(lambda: _started(serve, 2), 30, "the new worker to start")
        os.kill(second, signal.SIGTERM)  # huey's "stop now"
        wait_until(
            lambda: set(serve.children("assure_cli.main worker")) - {first, second},
            30,
            "a third worker",
        )
        assert f"worker 1 (pid {second}) exited with status 0; restarting in 2 s" in serve.output
        everything = set(serve.children(""))
    assert serve.process.returncode == 0, serve.output
    assert not [pid for pid in everything if alive(pid)]


def test_settle_worker_retries_or_fails_the_exited_workers_jobs_and_no_one_elses(
    world_db: tuple[World, sessionmaker[Session], Settings],
) -> None:
    """What serve's supervisor runs after a worker exits, so that it never loads huey or
    SQLAlchemy itself: the exited worker's running jobs are requeued while attempts remain and
    failed after, and it reports exactly that."""
    _world, sessions, settings = world_db
    exited = worker_identity("0123456789ab", pid=424242)
    # The same pid with another start token is a later, unrelated worker.
    later = worker_identity("ba9876543210", pid=424242)
    with transaction(sessions) as session:
        jobs = [
            Job(kind="check", status=RunStatus.RUNNING, attempts=1, claimed_by=exited),
            Job(kind="check", status=RunStatus.RUNNING, attempts=3, claimed_by=exited),
            Job(kind="check", status=RunStatus.RUNNING, attempts=1, claimed_by=later),
        ]
        session.add_all(jobs)
        session.flush()
        retried, given_up, untouched = (job.id for job in jobs)
    cause = "its worker was killed by SIGKILL"
    args = ("settle-worker", "--start-token", "0123456789ab", "--pid", "424242")
    done = assure(*args, "--cause", cause, env=worker_env(settings))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"requeued job {retried}, failed job {given_up}\n"
    with sessions() as session:
        statuses = {job.id: job.status for job in session.query(Job)}
    assert statuses == {
        retried: RunStatus.QUEUED,
        given_up: RunStatus.FAILED,
        untouched: RunStatus.RUNNING,
    }
    # Nothing left to settle the second time.
    again = assure(*args, "--cause", cause, env=worker_env(settings))
    assert (again.returncode, again.stdout) == (0, "\n")


def test_settle_worker_on_a_database_never_migrated_fails_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    (tmp_path / "data").mkdir()
    env["ASSURE_DATA_DIR"] = str(tmp_path / "data")
    args = ("settle-worker", "--start-token", "t", "--pid", "1", "--cause", "gone")
    done = assure(*args, env=env)
    assert done.returncode == 2, done.stderr
    # The driver's error, caught although the command line never imports SQLAlchemy itself.
    assert done.stderr.startswith("error: database error: no such table: jobs"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_streamlit_run_directly_gets_the_same_safe_settings_as_assure_serve() -> None:
    """`.streamlit/config.toml` and `assure serve`'s flags say the same thing, one for one; among
    them, no table offers its own CSV download (it would write "=..." cells as live formulas)."""
    import tomllib
    from pathlib import Path

    from assure_cli.serve import STREAMLIT_FLAGS

    config = tomllib.loads(
        (Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text()
    )
    from_file = {
        f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in config.items()
        for key, value in values.items()
    }
    from_flags = dict(flag.removeprefix("--").split("=", 1) for flag in STREAMLIT_FLAGS)
    # CORS is a flag only: its default is already on.
    from_flags.pop("server.enableCORS")
    assert from_flags == from_file
    assert from_flags["client.disableDataExport"] == "true"
    from kernel.upload_limit import LARGEST_UPLOAD_MIB

    assert int(from_flags["server.maxUploadSize"]) == LARGEST_UPLOAD_MIB


def test_serve_refuses_a_broken_schedules_file_before_starting_any_worker(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "schedules.yaml"
    broken.write_text("version: 1\nschedules: [{name: posture.daily_snapshot}]\n", "utf-8")
    env = {**sqlite_env, "ASSURE_SCHEDULES_FILE": str(broken)}
    done = subprocess.run(
        [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{broken}: refused, no schedule from it runs" in done.stderr
    assert "app on http" not in done.stdout
